"""Speed of the delegate-compatibility engine, against reading the same model in the same run.

For the most op-heavy models (dp_net, 2,338 ops; the 20,000-op synthetic chain
built by bench_inspect.py) and the bundled samples, prints the median time of
`analyze` per delegate and for all six, as microseconds per op and as a
ratio to `read_model` + `model_stats` of the same file (the reference: what
opening the model costs). Also the XNNPACK runtime check (interpreter in a
worker process), which is dominated by starting that process and loading the model, with the
XNNPACK partitions of subgraph 0 predicted (the runtime's data-flow partitioner, partitions.py)
and made by the runtime (DELEGATE nodes).

Usage: .venv/bin/python benchmarks/bench_compat.py [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_inspect import CACHE, SHARED_MODELS, build_many_ops_model, timed  # noqa: E402
from tflite_inspector.core.delegates.engine import DELEGATES, analyze, analyze_all  # noqa: E402
from tflite_inspector.core.delegates.runtime_check import compare_with_runtime  # noqa: E402
from tflite_inspector.core.errors import RuntimeFailure  # noqa: E402
from tflite_inspector.core.inspection.stats import model_stats  # noqa: E402
from tflite_inspector.core.reading.reader import read_model  # noqa: E402
from tflite_inspector.core.runtime.interpreter import RuntimeWorker  # noqa: E402

SAMPLES = ROOT / "resources" / "samples"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    args = parser.parse_args()

    chain = CACHE / "chain_20000_add.tflite"
    if not chain.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        build_many_ops_model(chain, 20000)
    paths = [
        SAMPLES / "shapes_float.tflite",
        SHARED_MODELS / "gh-google-coral-test_data/movenet_single_pose_lightning_ptq.tflite",
        SHARED_MODELS / "gh-tulasiram58827-TTS_TFLite/hifigan_float16.tflite",
        SHARED_MODELS / "gh-tensorflow-tflite-micro/dp_net.tflite",
        chain,
    ]
    print(
        f"{'model':<44} {'ops':>6} {'open ms':>8} "
        + " ".join(f"{d:>8}" for d in DELEGATES)
        + f" {'all ms':>8} {'us/op':>6} {'all/open':>8}"
    )
    for path in paths:
        if not path.exists():
            print(f"{path.name}: missing, skipped")
            continue
        model = read_model(path)
        n_ops = sum(len(sg.operators) for sg in model.subgraphs)

        def open_model(p=path):
            with read_model(p) as m:
                model_stats(m)

        open_s = timed(open_model, args.repeat)
        per_delegate = [timed(lambda d=d, m=model: analyze(m, d), args.repeat) for d in DELEGATES]
        all_s = timed(lambda m=model: analyze_all(m), args.repeat)
        print(
            f"{path.name[:44]:<44} {n_ops:>6} {open_s * 1e3:>8.1f} "
            + " ".join(f"{t * 1e3:>8.1f}" for t in per_delegate)
            + f" {all_s * 1e3:>8.1f} {all_s / n_ops * 1e6:>6.1f} {all_s / open_s:>8.2f}"
        )

    print("\nXNNPACK runtime check (interpreter in a worker process):")
    with RuntimeWorker(timeout_s=120) as worker:
        for path in paths[:4]:
            model = read_model(path)
            report = analyze(model, "xnnpack")
            start = time.perf_counter()
            try:
                nodes = worker.default_delegate_nodes(str(path))
                comparison = compare_with_runtime(report, model.subgraphs[0], nodes.delegate_nodes)
                outcome = (f"agreement {comparison.agreement:.1%}, partitions predicted "
                           f"{len(report.subgraph_partitions(0))}, runtime {comparison.partitions}")
            except RuntimeFailure as e:
                outcome = f"refused: {str(e).splitlines()[0][:60]}"
            print(
                f"  {path.name[:44]:<44} {(time.perf_counter() - start) * 1e3:>8.0f} ms  {outcome}"
                + ("  (includes starting the worker)" if path == paths[0] else "")
            )


if __name__ == "__main__":
    main()
