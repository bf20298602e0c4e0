"""Inputs and outputs, the ground floor: images in (:mod:`.images`), sample and synthetic images (:mod:`.samples`,
:mod:`.synthetic`, :mod:`.synthetic_coco`), COCO and YouTube-VIS files (:mod:`.coco_format`, :mod:`.ytvis_format`),
mask exports (:mod:`.exports`) and atomic writes (:mod:`.atomic`). Nothing here knows about models."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_face

if TYPE_CHECKING:
    from .atomic import STALE_TEMP_SECONDS, atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text
    from .coco_format import (
        CocoFormatError,
        load_annotations,
        load_detections,
        load_results,
        segmentation_to_mask,
        segmentation_to_rle,
        xywh_to_xyxy,
    )
    from .exports import (
        MaskRecord,
        gif_html,
        load_coco_json,
        load_mask_png,
        load_polygons_json,
        mask_to_polygons,
        mask_to_rle,
        polygons_to_mask,
        rle_to_mask,
        save_coco_json,
        save_figure,
        save_gif,
        save_mask_png,
        save_polygons_json,
    )
    from .images import ImageLike, as_rgb_uint8, encode_png, image_sha256, load_image
    from .samples import SAMPLE_NAMES, Sample, list_samples, load_sample, samples_markdown, suggest_prompt
    from .synthetic import (
        BENCHMARK_SIZES,
        SCENE_KINDS,
        TEXTURE_NAMES,
        SceneItem,
        SceneSpec,
        benchmark_specs,
        synthetic_benchmark,
        thin_structure_scene,
    )
    from .synthetic_coco import SOLID_KINDS, SyntheticCoco, synthetic_coco_scene, write_synthetic_coco
    from .ytvis_format import YtvisFormatError, load_ytvis_annotations, load_ytvis_results, video_folder

#: Each public name -> the module that defines it (imported on first use: :mod:`hqsam_nb._lazy`).
_HOMES = {
    "BENCHMARK_SIZES": "synthetic",
    "CocoFormatError": "coco_format",
    "ImageLike": "images",
    "MaskRecord": "exports",
    "SAMPLE_NAMES": "samples",
    "SCENE_KINDS": "synthetic",
    "SOLID_KINDS": "synthetic_coco",
    "STALE_TEMP_SECONDS": "atomic",
    "Sample": "samples",
    "SceneItem": "synthetic",
    "SceneSpec": "synthetic",
    "SyntheticCoco": "synthetic_coco",
    "TEXTURE_NAMES": "synthetic",
    "YtvisFormatError": "ytvis_format",
    "as_rgb_uint8": "images",
    "atomic_path": "atomic",
    "atomic_write_bytes": "atomic",
    "atomic_write_json": "atomic",
    "atomic_write_text": "atomic",
    "benchmark_specs": "synthetic",
    "encode_png": "images",
    "gif_html": "exports",
    "image_sha256": "images",
    "list_samples": "samples",
    "load_annotations": "coco_format",
    "load_coco_json": "exports",
    "load_detections": "coco_format",
    "load_image": "images",
    "load_mask_png": "exports",
    "load_polygons_json": "exports",
    "load_results": "coco_format",
    "load_sample": "samples",
    "load_ytvis_annotations": "ytvis_format",
    "load_ytvis_results": "ytvis_format",
    "mask_to_polygons": "exports",
    "mask_to_rle": "exports",
    "polygons_to_mask": "exports",
    "rle_to_mask": "exports",
    "samples_markdown": "samples",
    "save_coco_json": "exports",
    "save_figure": "exports",
    "save_gif": "exports",
    "save_mask_png": "exports",
    "save_polygons_json": "exports",
    "segmentation_to_mask": "coco_format",
    "segmentation_to_rle": "coco_format",
    "suggest_prompt": "samples",
    "synthetic_benchmark": "synthetic",
    "synthetic_coco_scene": "synthetic_coco",
    "thin_structure_scene": "synthetic",
    "video_folder": "ytvis_format",
    "write_synthetic_coco": "synthetic_coco",
    "xywh_to_xyxy": "coco_format",
}
__all__ = [
    "BENCHMARK_SIZES", "CocoFormatError", "ImageLike", "MaskRecord", "SAMPLE_NAMES", "SCENE_KINDS", "SOLID_KINDS",
    "STALE_TEMP_SECONDS", "Sample", "SceneItem", "SceneSpec", "SyntheticCoco", "TEXTURE_NAMES", "YtvisFormatError",
    "as_rgb_uint8", "atomic_path", "atomic_write_bytes", "atomic_write_json", "atomic_write_text", "benchmark_specs",
    "encode_png", "gif_html", "image_sha256", "list_samples", "load_annotations", "load_coco_json", "load_detections",
    "load_image", "load_mask_png", "load_polygons_json", "load_results", "load_sample", "load_ytvis_annotations",
    "load_ytvis_results", "mask_to_polygons", "mask_to_rle", "polygons_to_mask", "rle_to_mask", "samples_markdown",
    "save_coco_json", "save_figure", "save_gif", "save_mask_png", "save_polygons_json", "segmentation_to_mask",
    "segmentation_to_rle", "suggest_prompt", "synthetic_benchmark", "synthetic_coco_scene", "thin_structure_scene",
    "video_folder", "write_synthetic_coco", "xywh_to_xyxy",
]
__getattr__, __dir__ = lazy_face(__name__, _HOMES)
