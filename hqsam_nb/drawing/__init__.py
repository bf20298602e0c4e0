"""Drawing masks and prompts: pure numpy RGB/RGBA images (:mod:`.overlays`) with thin matplotlib figures on top
(:mod:`.figures`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_face

if TYPE_CHECKING:
    from .figures import (
        boundary_zoom_figure,
        compare_figure,
        difference_figure,
        gallery_figure,
        new_figure,
        show_box,
        show_mask,
        show_points,
        show_prompt,
    )
    from .overlays import (
        BOX_COLOR,
        BRANCH_COLORS,
        DIFF_COLORS,
        DIFF_LABELS,
        FUSED_COLOR,
        MASK_COLORS,
        NEGATIVE_COLOR,
        POSITIVE_COLOR,
        comparison_panel,
        composite,
        crop_zoom,
        diff_colors,
        diff_labels,
        difference_rgba,
        disagreement_boxes,
        draw_box,
        draw_points,
        draw_prompt,
        label_panels,
        mask_contour,
        mask_rgba,
        masks_rgba,
        overlay_mask,
        overlay_masks,
        random_colors,
        segments_rgba,
        stamp_array,
        wipe_image,
    )
    from .text_figures import detections_figure, object_color, text_masks_figure, text_objects_figure, threshold_figure

#: Each public name -> the module that defines it (imported on first use: :mod:`hqsam_nb._lazy`).
_HOMES = {
    "BOX_COLOR": "overlays",
    "BRANCH_COLORS": "overlays",
    "DIFF_COLORS": "overlays",
    "DIFF_LABELS": "overlays",
    "FUSED_COLOR": "overlays",
    "MASK_COLORS": "overlays",
    "NEGATIVE_COLOR": "overlays",
    "POSITIVE_COLOR": "overlays",
    "boundary_zoom_figure": "figures",
    "compare_figure": "figures",
    "comparison_panel": "overlays",
    "composite": "overlays",
    "crop_zoom": "overlays",
    "detections_figure": "text_figures",
    "diff_colors": "overlays",
    "diff_labels": "overlays",
    "difference_figure": "figures",
    "difference_rgba": "overlays",
    "disagreement_boxes": "overlays",
    "draw_box": "overlays",
    "draw_points": "overlays",
    "draw_prompt": "overlays",
    "gallery_figure": "figures",
    "label_panels": "overlays",
    "mask_contour": "overlays",
    "mask_rgba": "overlays",
    "masks_rgba": "overlays",
    "new_figure": "figures",
    "object_color": "text_figures",
    "overlay_mask": "overlays",
    "overlay_masks": "overlays",
    "random_colors": "overlays",
    "segments_rgba": "overlays",
    "show_box": "figures",
    "show_mask": "figures",
    "show_points": "figures",
    "show_prompt": "figures",
    "stamp_array": "overlays",
    "text_masks_figure": "text_figures",
    "text_objects_figure": "text_figures",
    "threshold_figure": "text_figures",
    "wipe_image": "overlays",
}
__all__ = [
    "BOX_COLOR", "BRANCH_COLORS", "DIFF_COLORS", "DIFF_LABELS", "FUSED_COLOR", "MASK_COLORS", "NEGATIVE_COLOR",
    "POSITIVE_COLOR", "boundary_zoom_figure", "compare_figure", "comparison_panel", "composite", "crop_zoom",
    "detections_figure", "diff_colors", "diff_labels", "difference_figure", "difference_rgba", "disagreement_boxes",
    "draw_box", "draw_points", "draw_prompt", "gallery_figure", "label_panels", "mask_contour", "mask_rgba",
    "masks_rgba", "new_figure", "object_color", "overlay_mask", "overlay_masks", "random_colors", "segments_rgba",
    "show_box", "show_mask", "show_points", "show_prompt", "stamp_array", "text_masks_figure", "text_objects_figure",
    "threshold_figure", "wipe_image",
]
__getattr__, __dir__ = lazy_face(__name__, _HOMES)
