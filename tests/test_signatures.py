"""Every signature: compare (and what the lab and the report build on it) runs the signature the
user picks, matches within its subgraph, and says which one it ran.

The models come from TensorFlow's own converter (tests/signature_models.py, in its own process):
one tf.Module with two signatures of different input shapes, as float, dynamic-range and
full-integer int8. Numbers are checked against the interpreter's own SignatureRunner, run in a
separate process through its public API only.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tflite_inspector.core.comparison.inputs import input_specs, prepare_samples
from tflite_inspector.core.comparison.matching import match_tensors
from tflite_inspector.core.comparison.run import ComparisonRequest, compare_files
from tflite_inspector.core.comparison.signatures import candidate_entry, model_entry
from tflite_inspector.core.errors import InputError
from tflite_inspector.core.reading.reader import read_model
from tflite_inspector.core.runtime.interpreter import RuntimeWorker
from tflite_inspector.core.runtime.protocol import TensorIndexPair
from tflite_inspector.main import main

from .conftest import needs_shared, shared_model
from .graph_builder import GraphBuilder, with_signature
from .signature_models import build_in_subprocess

SAMPLES = 4  # in each .npz of inputs

# The interpreter's own way to run a signature: SignatureRunner, by the signature's input names.
# The .npz holds each input's samples stacked on a new first axis; the outputs come back so.
_RUNNER = textwrap.dedent("""
    import sys
    import numpy as np
    from ai_edge_litert import interpreter as litert
    path, key, inputs, out = sys.argv[1:5]
    it = litert.Interpreter(model_path=path,
                            experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    runner = it.get_signature_runner(key)
    with np.load(inputs) as arrays:
        given = {name: arrays[name] for name in arrays.files}
    count = len(next(iter(given.values())))
    results = {}
    for i in range(count):
        for name, value in runner(**{n: v[i] for n, v in given.items()}).items():
            results.setdefault(name, []).append(value)
    np.savez(out, **{name: np.stack(values) for name, values in results.items()})
""")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    return build_in_subprocess(tmp_path_factory.mktemp("signatures"))


@pytest.fixture(scope="module")
def worker():
    with RuntimeWorker(timeout_s=120) as w:
        yield w


def runner_outputs(model: Path, key: str, samples, tmp_path: Path) -> dict[str, np.ndarray]:
    """The SignatureRunner's outputs by output name, one row per sample (samples as we prepared
    them: the same values our worker is given)."""
    with read_model(str(model)) as read:
        specs = input_specs(read, model_entry(read, key))
    inputs = tmp_path / f"{model.stem}_{key}_inputs.npz"
    np.savez(inputs, **{spec.signature_name: np.stack([s.values[k] for s in samples])
                        for k, spec in enumerate(specs)})
    out = tmp_path / f"{model.stem}_{key}_outputs.npz"
    result = subprocess.run([sys.executable, "-c", _RUNNER, str(model), key, str(inputs), str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    with np.load(out) as arrays:
        return {name: arrays[name] for name in arrays.files}


def test_the_models_have_two_signatures_on_two_subgraphs_with_different_inputs(models):
    with read_model(str(models / "two_float.tflite")) as model:
        assert [(s.key, s.subgraph) for s in model.signatures] == [("decode", 0), ("encode", 1)]
        decode, encode = model_entry(model, "decode"), model_entry(model, "encode")
        assert model_entry(model) == decode  # no serving_default: the first signature
        assert [s.shape for s in input_specs(model, encode)] == [(1, 24, 24, 3)]
        assert [s.shape for s in input_specs(model, decode)] == [(1, 16)]
        assert input_specs(model, encode)[0].signature_name == "image"
        with pytest.raises(InputError, match="no signature 'nope'.*'decode', 'encode'"):
            model_entry(model, "nope")


def test_matching_stays_within_the_chosen_signatures_subgraph(models):
    with read_model(str(models / "two_float.tflite")) as ref, read_model(str(models / "two_int8.tflite")) as cand:
        for key in ("encode", "decode"):
            entry = model_entry(ref, key)
            cand_entry = candidate_entry(cand, entry)
            assert cand_entry.key == key
            matching = match_tensors(ref, cand, entry, cand_entry)
            ref_sg, cand_sg = ref.subgraphs[entry.subgraph], cand.subgraphs[cand_entry.subgraph]
            # Every op output of the signature's float subgraph is matched, and nothing of the other.
            ops = {op.index for op in ref_sg.operators}
            assert {p.reference_op for p in matching.pairs if p.reference_op >= 0} == ops
            assert not [u for u in matching.unmatched if u.model == "reference"]
            for pair in matching.pairs:
                assert ref_sg.tensors[pair.reference].num_elements == cand_sg.tensors[pair.candidate].num_elements


@pytest.mark.parametrize("key, inputs", [("encode", "images.npz"), ("decode", "vectors.npz")])
def test_outputs_are_the_signature_runners_for_reference_and_candidate(models, worker, tmp_path, key, inputs):
    """Run and matched within the signature: our worker's output values, for both models, are the
    interpreter's own SignatureRunner outputs on the same inputs, bit for bit."""
    reference, candidate = models / "two_float.tflite", models / "two_int8.tflite"
    run = compare_files(ComparisonRequest(str(reference), (str(candidate),), (str(models / inputs),),
                                          signature=key), worker)
    comparison = run.comparison
    assert comparison.signature == key and len(comparison.inputs) == SAMPLES
    (result,) = comparison.candidates
    assert result.error is None and result.isolated and result.isolated_note is None
    with read_model(str(reference)) as model:
        entry = model_entry(model, key)
    assert comparison.subgraph == entry.subgraph == {"decode": 0, "encode": 1}[key]
    (output,) = result.outputs
    name = {"encode": "classes", "decode": "scores"}[key]
    expected_ref = runner_outputs(reference, key, run.run_samples, tmp_path)[name]
    expected_cand = runner_outputs(candidate, key, run.run_samples, tmp_path)[name]
    for i, sample in enumerate(run.run_samples):
        values = worker.tensor_pair_values(str(reference), str(candidate), sample.values,
                                           TensorIndexPair(output.reference_tensor, output.candidate_tensor),
                                           reference_entry=comparison.reference_run, candidate_entry=result.run)
        np.testing.assert_array_equal(values.reference, expected_ref[i].ravel())
        np.testing.assert_array_equal(values.candidate, expected_cand[i].ravel())
        # The top classes shown are the runner's.
        assert output.top[i].reference[0].index == int(np.argmax(expected_ref[i]))
        assert output.top[i].candidate[0].index == int(np.argmax(expected_cand[i]))
    assert output.top1_agreement == np.mean(expected_ref.argmax(-1) == expected_cand.argmax(-1))
    # The output's error is the error between the runner's two outputs.
    diff = expected_cand.astype(np.float64) - expected_ref
    per_input = [float(np.mean(d ** 2)) for d in diff]
    assert output.metrics.mean_squared_error == pytest.approx(np.mean(per_input), rel=1e-5)


def test_intermediate_tensors_of_a_non_primary_subgraph_are_preserved(models, worker):
    """`encode` is subgraph 1. Without preserve_all_tensors the interpreter reuses the MEAN's
    buffer for a later tensor (it then holds other values); read through our worker it is the
    mean of its input, so every tensor of that subgraph is read as it was computed."""
    reference = str(models / "two_float.tflite")
    _, samples = prepare_samples([read_model(reference)], [str(models / "images.npz")], signature="encode")
    with read_model(reference) as model:
        entry = model_entry(model, "encode")
        sg = model.subgraphs[entry.subgraph]
        mean = next(op for op in sg.operators if op.opcode == "MEAN")
        source, made = mean.inputs[0], mean.outputs[0]
        source_shape = sg.tensors[source].shape
    run = entry.run_entry()
    for sample in samples.samples:
        before = worker.tensor_pair_values(reference, reference, sample.values, TensorIndexPair(source, source),
                                           reference_entry=run, candidate_entry=run)
        after = worker.tensor_pair_values(reference, reference, sample.values, TensorIndexPair(made, made),
                                          reference_entry=run, candidate_entry=run)
        expected = before.reference.reshape(source_shape).mean(axis=(1, 2)).ravel()
        np.testing.assert_allclose(after.reference, expected, rtol=1e-5, atol=1e-6)


def test_the_default_signature_is_named_in_json_and_text(models, capfd):
    reference, candidate = str(models / "two_float.tflite"), str(models / "two_dynamic.tflite")
    code = main(["compare", reference, candidate, "--inputs", str(models / "vectors.npz"), "--json", "--no-isolated"])
    out = json.loads(capfd.readouterr().out)
    assert code == 0
    assert (out["signature"], out["subgraph"], out["signatures"]) == ("decode", 0, ["decode", "encode"])
    assert out["candidates"][0]["error"] is None
    code = main(["compare", reference, candidate, "--inputs", str(models / "images.npz"), "--signature", "encode",
                 "--no-isolated"])
    text = capfd.readouterr().out
    assert code == 0
    assert "run: signature 'encode' (subgraph 1); the model's other signatures: 'decode'" in text
    # The image file does not fit the default signature's input: said per file, nothing runs.
    code = main(["compare", reference, candidate, "--inputs", str(models / "images.npz"), "--no-isolated"])
    assert code == 2
    assert re.search(r"does not fit input 'decode_vector:0' \[1, ?16\]", capfd.readouterr().err)


def test_a_signature_the_model_does_not_have_is_refused_with_the_ones_it_has(models, capfd):
    code = main(["compare", str(models / "two_float.tflite"), str(models / "two_int8.tflite"), "--random", "1",
                 "--signature", "serving_default", "--json"])
    captured = capfd.readouterr()
    assert code == 2
    assert "has no signature 'serving_default' (its signatures: 'decode', 'encode')" in captured.err
    assert "has no signature" in json.loads(captured.out)["error"]


@needs_shared
def test_a_candidate_without_signatures_runs_subgraph_0_under_the_references_signature(worker, tmp_path):
    """A reference with serving_default over subgraph 0 against a plain candidate: both run
    subgraph 0, as before signatures were chosen; a signature on another subgraph is refused."""
    reference = tmp_path / "vww_96_float_signed.tflite"
    reference.write_bytes(with_signature(shared_model("gh-mlcommons-tiny/vww_96_float.tflite").read_bytes()))
    candidate = str(shared_model("gh-mlcommons-tiny/vww_96_int8.tflite"))
    run = compare_files(ComparisonRequest(str(reference), (candidate,), random_count=2, isolated=False), worker)
    assert run.comparison.signature == "serving_default"
    (result,) = run.comparison.candidates
    assert result.error is None and result.outputs[0].top1_agreement is not None
    assert len(result.layers) > 30


def test_quantize_calibrates_times_and_compares_the_signature_chosen(models, tmp_path, capfd):
    """The lab on `encode`: its image inputs calibrate and evaluate, its subgraph is timed (the
    worker feeds the image to that subgraph: fed to `decode`'s 16-vector it could not run), and the
    calibrated modes, which ai-edge-quantizer calibrates through every signature, are refused
    with the reason."""
    out = tmp_path / "variants"
    code = main(["quantize", str(models / "two_float.tflite"), "--modes", "dynamic,int8", "--random", "4",
                 "--signature", "encode", "-o", str(out), "--runs", "3", "--json"])
    result = json.loads(capfd.readouterr().out)
    assert code == 2  # a mode failed
    assert (result["signature"], result["subgraph"], result["settings"]["signature"]) == ("encode", 1, "encode")
    reference, dynamic, int8 = result["variants"]
    assert reference["latency_error"] is None and reference["latency_ms"]["runs"] >= 3
    assert dynamic["error"] is None and dynamic["latency_error"] is None and dynamic["evaluation_error"] is None
    assert dynamic["output_sqnr_db"] > 30 and dynamic["top1_agreement"] == 1.0
    assert "calibrates every signature" in int8["error"] and "'decode'" in int8["error"]
    # Re-run from the saved settings: the signature is part of them.
    assert main(["quantize", "--rerun", str(out / "two_float_quantize.json"), "--overwrite", "--json"]) == 2
    assert json.loads(capfd.readouterr().out)["signature"] == "encode"


def test_the_report_names_the_signature_it_compared(models, tmp_path):
    page = tmp_path / "report.html"
    assert main(["report", str(models / "two_float.tflite"), "--compare", str(models / "two_int8.tflite"),
                 "--inputs", str(models / "images.npz"), "--signature", "encode", "-o", str(page)]) == 0
    html = page.read_text()
    assert "<th>Run</th><td>signature &#39;encode&#39; (subgraph 1)" in html


def _concatenation(path: Path, order: tuple[str, str]) -> Path:
    """out = concat(a [1,4], b [1,3]) with signature names a and b, the subgraph's inputs in `order`."""
    b = GraphBuilder()
    a_t, b_t = b.tensor("a", [1, 4]), b.tensor("b", [1, 3])
    out = b.tensor("out", [1, 7])
    b.op("CONCATENATION", [a_t, b_t], [out], options=("ConcatenationOptions", {"axis": 1}))
    b.signature("serving_default", {"a": a_t, "b": b_t}, {"out": out})
    path.write_bytes(b.build(inputs=[{"a": a_t, "b": b_t}[name] for name in order], outputs=[out]))
    return path


def test_a_candidate_is_fed_by_signature_name_when_its_inputs_come_in_another_order(worker, tmp_path):
    reference = _concatenation(tmp_path / "ab.tflite", ("a", "b"))
    candidate = _concatenation(tmp_path / "ba.tflite", ("b", "a"))
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "inputs.npz", a=rng.standard_normal((3, 4)).astype(np.float32),
             b=rng.standard_normal((3, 3)).astype(np.float32))
    run = compare_files(ComparisonRequest(str(reference), (str(candidate),), (str(tmp_path / "inputs.npz"),),
                                          isolated=False), worker)
    (result,) = run.comparison.candidates
    assert result.error is None and len(run.comparison.inputs) == 3
    with read_model(str(candidate)) as model:
        assert model.main_subgraph.inputs == (1, 0)  # b first
    assert result.run.inputs == (0, 1)  # fed in the reference's order, by name: a, then b
    assert all(layer.metrics.mean_squared_error == 0 for layer in result.layers)
    assert {(layer.reference_name, layer.candidate_name) for layer in result.layers} >= {("a", "a"), ("b", "b")}


@needs_shared
@pytest.mark.parametrize("relative, key", [
    ("gh-google-ai-edge-LiteRT/multi_signature_model.tflite", "add"),
    ("gh-google-ai-edge-LiteRT/multi_signature_model.tflite", "mul"),
    ("gh-google-ai-edge-LiteRT/multi_signature_model.tflite", "sub"),
    ("gh-google-lyra/quantizer.tflite", "decode"),
    ("gh-google-lyra/quantizer.tflite", "encode"),  # subgraph 1, with a scalar int32 input
])
def test_corpus_models_with_several_signatures_run_each_one_as_its_runner_does(worker, tmp_path, relative, key):
    """The corpus's two models with several signatures, each signature against itself: every
    tensor matched and exact, and each output's values are the SignatureRunner's."""
    path = shared_model(relative)
    with read_model(str(path)) as model:
        entry = model_entry(model, key)
    run = compare_files(ComparisonRequest(str(path), (str(path),), random_count=2, signature=key, isolated=False),
                        worker)
    expected = runner_outputs(path, key, run.run_samples, tmp_path)
    comparison = run.comparison
    (result,) = comparison.candidates
    assert comparison.signature == key and comparison.subgraph == entry.subgraph and result.error is None
    assert result.layers and all(layer.metrics.mean_squared_error == 0 for layer in result.layers)
    assert not result.unmatched
    for i, sample in enumerate(run.run_samples):
        for name, tensor in zip(entry.output_names, entry.outputs):
            values = worker.tensor_pair_values(str(path), str(path), sample.values, TensorIndexPair(tensor, tensor),
                                               reference_entry=entry.run_entry(), candidate_entry=entry.run_entry())
            np.testing.assert_array_equal(values.reference, expected[name][i].ravel().astype(np.float32))
