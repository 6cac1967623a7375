"""The reader on every real model in ../shared/models, checked against the corpus MANIFEST."""

from __future__ import annotations

import numpy as np
import pytest

from tflite_inspector.core.errors import ModelError
from tflite_inspector.core.inspection.stats import model_stats
from tflite_inspector.core.inspection.summary import format_model_text, model_dict
from tflite_inspector.core.reading.attached_zip import read_associated_file
from tflite_inspector.core.reading.reader import read_model
from tflite_inspector.core.reading.tensor_data import dequantize, tensor_array, tensor_stats

from .conftest import (
    EDGE_CASES,
    manifest_op_counts,
    manifest_rows,
    model_id,
    needs_shared,
    real_model_paths,
    shared_model,
)

pytestmark = needs_shared


@pytest.mark.parametrize("path", real_model_paths(), ids=model_id)
def test_every_real_model_reads_and_matches_manifest(path):
    rows = manifest_rows()
    key = str(path.relative_to(path.parent.parent))
    with read_model(path) as model:
        assert model.version == 3
        assert model.size_bytes == path.stat().st_size
        row = rows.get(key)
        if row is not None:
            assert int(row["bytes"]) == model.size_bytes
            counts = manifest_op_counts(row["ops"])
            if counts is not None:
                # The manifest counts every op in every subgraph.
                ops = [op.opcode for sg in model.subgraphs for op in sg.operators]
                assert (len(ops), len(set(ops))) == counts
            notes = row["notes"]
            for sig in _manifest_signatures(notes):
                assert sig in {s.key for s in model.signatures}
            if "TFLITE_METADATA" in notes:
                assert model.tflite_metadata is not None
            for name in _manifest_zip_files(notes):
                assert name in {f.name for f in model.zip_files}
        # Every derived view of the model works on it.
        stats = model_stats(model)
        assert stats.parameters >= 0
        d = model_dict(model, stats)
        assert len(d["subgraphs"]) == len(model.subgraphs)
        assert format_model_text(model, stats)
        # Every constant numeric tensor can be viewed and summarised.
        for sg in model.subgraphs:
            for t in sg.tensors:
                if t.is_constant and t.sparsity is None and t.dtype not in ("STRING", "RESOURCE", "VARIANT"):
                    values = tensor_array(model, t)
                    assert values.size == t.num_elements
                    tensor_stats(model, t)


def _manifest_signatures(notes: str) -> list[str]:
    for part in notes.split(";"):
        part = part.strip()
        if part.startswith("sig ") and "<" not in part:
            return [s.strip() for s in part[4:].split(",")]
    return []


def _manifest_zip_files(notes: str) -> list[str]:
    for part in notes.split(";"):
        part = part.strip()
        if part.startswith("zip:"):
            return [s.strip() for s in part[4:].split(",")]
    return []


def test_opcodes_at_or_above_128_use_builtin_code():
    # STABLEHLO / newer ops only exist in builtin_code; the deprecated field holds 127.
    path = shared_model("gh-google-lyra/lyragan.tflite")
    with read_model(path) as model:
        names = {op.opcode for sg in model.subgraphs for op in sg.operators}
    assert "CALL_ONCE" in names and "VAR_HANDLE" in names
    assert not any(n.startswith("PLACEHOLDER") or n.startswith("BUILTIN_") for n in names)


def test_control_flow_references_between_subgraphs():
    with read_model(shared_model("gh-tulasiram58827-ocr_tflite/ocr_dr.tflite")) as model:
        whiles = [op for op in model.subgraphs[0].operators if op.opcode == "WHILE"]
        assert whiles
        refs = whiles[0].subgraph_refs
        assert set(refs) == {"cond_subgraph_index", "body_subgraph_index"}
        assert all(0 < v < len(model.subgraphs) for v in refs.values())
    with read_model(shared_model("gh-google-lyra/lyragan.tflite")) as model:
        call_once = next(op for op in model.subgraphs[0].operators if op.opcode == "CALL_ONCE")
        assert call_once.subgraph_refs == {"init_subgraph_index": 1}


def test_builtin_options_are_decoded_with_enum_names():
    with read_model(shared_model("gh-mlcommons-tiny/vww_96_int8.tflite")) as model:
        conv = model.subgraphs[0].operators[0]
        assert conv.opcode == "CONV_2D" and conv.options_type == "Conv2DOptions"
        assert conv.options["padding"] == "SAME"
        assert conv.options["fused_activation_function"] == "RELU"
        assert conv.options["stride_h"] == 2 and conv.options["stride_w"] == 2
        softmax = next(op for op in model.subgraphs[0].operators if op.opcode == "SOFTMAX")
        assert softmax.options["beta"] == pytest.approx(1.0)


def test_custom_options_decoded_from_flexbuffers():
    with read_model(shared_model("gh-google-coral-test_data/traffic_model.tflite")) as model:
        post = next(op for op in model.subgraphs[0].operators if op.opcode == "TFLite_Detection_PostProcess")
        assert post.is_custom and post.custom_options_format == "FLEXBUFFERS"
        assert post.custom_options["max_detections"] > 0
        assert "nms_iou_threshold" in post.custom_options


def test_flex_ops_are_marked():
    with read_model(shared_model("gh-tensorflow-examples/planestrike_tf_agents.tflite")) as model:
        flex = [op for op in model.subgraphs[0].operators if op.is_flex]
        assert len(flex) == 1
        assert flex[0].opcode.startswith("Flex")


def test_tflite_metadata_normalization_and_label_file():
    path = shared_model("gh-google-coral-test_data/mobilenet_v1_0.25_128_quant.tflite")
    with read_model(path) as model:
        md = model.tflite_metadata
        assert md.name == "ImageClassifier"
        image = md.subgraphs[0].inputs[0]
        assert image.normalization_mean == (127.5,) and image.normalization_std == (127.5,)
        assert image.content["type"] == "image" and image.content["color_space"] == "RGB"
        files = {f.name: f for f in model.associated_files}
        assert files["imagenet_labels.txt"].type == "TENSOR_AXIS_LABELS"
        labels = read_associated_file(model, "imagenet_labels.txt").decode().splitlines()
        assert len(labels) == model.subgraphs[0].tensors[model.subgraphs[0].outputs[0]].shape[-1]
        with pytest.raises(ModelError, match="no attached file"):
            read_associated_file(model, "missing.txt")


def test_per_channel_quantization_axis_and_dequantize():
    with read_model(shared_model("gh-mlcommons-tiny/vww_96_int8.tflite")) as model:
        sg = model.subgraphs[0]
        dw = next(op for op in sg.operators if op.opcode == "DEPTHWISE_CONV_2D")
        w = sg.tensors[dw.inputs[1]]
        q = w.quantization
        assert q.per_channel and q.quantized_dimension == 3 and q.num_channels == w.shape[3]
        raw = tensor_array(model, w)
        assert raw.dtype == np.int8 and not raw.flags.writeable  # a view of the file, not a copy
        real = dequantize(model, w)
        expected = (raw.astype(np.float32) - q.zero_point.reshape(1, 1, 1, -1)) * q.scale.reshape(1, 1, 1, -1)
        np.testing.assert_array_equal(real, expected.astype(np.float32))


def test_float16_weights_statistics():
    with read_model(shared_model("gh-tulasiram58827-TTS_TFLite/hifigan_float16.tflite")) as model:
        f16 = [t for sg in model.subgraphs for t in sg.tensors if t.is_constant and t.dtype == "FLOAT16"]
        assert f16
        t = max(f16, key=lambda t: t.num_elements)
        stats = tensor_stats(model, t)
        values = tensor_array(model, t).astype(np.float64)
        assert stats.count == values.size
        assert stats.min == pytest.approx(values.min()) and stats.max == pytest.approx(values.max())
        assert stats.mean == pytest.approx(values.mean(), rel=1e-6, abs=1e-9)
        assert stats.std == pytest.approx(values.std(), rel=1e-5)


def test_int4_blockwise_weights_unpack_and_dequantize():
    with read_model(shared_model("gh-google-ai-edge-LiteRT/qwen_fc_blockwise_quantized.tflite")) as model:
        w = model.subgraphs[0].tensors[1]
        assert w.dtype == "INT4" and w.data_bytes == w.num_elements // 2
        values = tensor_array(model, w)
        assert values.shape == w.shape and values.min() >= -8 and values.max() <= 7
        packed = tensor_array(model, w, unpack=False)
        assert packed.size == w.data_bytes
        real = dequantize(model, w)
        scales = tensor_array(model, model.subgraphs[0].tensors[w.quantization.details.scales_tensor])
        block = w.quantization.details.block_size
        np.testing.assert_allclose(real[:, :block], values[:, :block] * scales[:, :1].astype(np.float32))


def test_peak_activation_is_reported_as_an_estimate():
    with read_model(shared_model("gh-google-coral-test_data/mobilenet_v1_0.25_128_quant.tflite")) as model:
        d = model_dict(model)
    # Input 128x128x3 uint8 (48 KiB) + first conv output 64x64x8 (32 KiB) live together at op 0,
    # and the largest later pair (64x64x8 in, 64x64x16 out = 96 KiB) is the peak.
    assert d["stats"]["peak_activation_bytes"] == [64 * 64 * 8 + 64 * 64 * 16]
    assert d["stats"]["peak_activation_method"].startswith("estimate")


def test_macs_of_known_networks():
    # MobileNet papers: v1 0.25/128 ~14M mult-adds, v2 1.0/224 ~300M.
    with read_model(shared_model("gh-google-coral-test_data/mobilenet_v1_0.25_128_quant.tflite")) as model:
        assert 13e6 < model_stats(model).macs < 15e6
    with read_model(shared_model("gh-google-coral-test_data/mobilenet_v2_1.0_224_quant.tflite")) as model:
        assert 295e6 < model_stats(model).macs < 310e6


def test_edge_case_files_give_one_clear_error():
    for path in sorted(EDGE_CASES.glob("*.tflite")):
        try:
            with read_model(path) as model:
                model_dict(model)
        except ModelError as e:
            message = str(e)
            assert str(path) in message and "\n" not in message


def test_missing_file_and_folder_and_empty(tmp_path):
    with pytest.raises(ModelError, match="cannot open"):
        read_model(tmp_path / "nope.tflite")
    with pytest.raises(ModelError, match="folder"):
        read_model(tmp_path)
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        read_model(empty)
    text = tmp_path / "notes.tflite"
    text.write_text("this is not a model at all")
    with pytest.raises(ModelError, match="not a .tflite model"):
        read_model(text)
