"""Is a drawn figure readable at a glance? Nothing clipped at the figure's edges, no legend over the data, no
two texts on top of each other (issue 18, item 2).

:func:`layout_problems` draws a figure with the Agg renderer and lists, in words, every text artist (titles,
tick labels, axis labels, annotations, legend entries) that reaches beyond the figure, every legend whose box
covers a bar, a line, a band, a marker or a text of its axes, every text of an axes drawn over one of its lines
or whiskers, and every pair of visible texts that overlap.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection, LineCollection
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.transforms import Bbox

SLACK = 1.0  # pixels: antialiasing may reach one pixel beyond a box


def _shown(artist) -> bool:
    """Drawn: visible, with every parent visible."""
    while artist is not None:
        if not artist.get_visible():
            return False
        parent = getattr(artist, "axes", None) if not isinstance(artist, Axes) else None
        artist = parent if parent is not artist else None
    return True


def _texts(figure: Figure) -> list[Text]:
    """The texts drawn: of the tick labels, only those of the ticks inside the view limits."""
    ticks = {id(label) for axes in figure.axes for axis in axes._axis_map.values()
             for tick in axis.get_major_ticks() + axis.get_minor_ticks() for label in (tick.label1, tick.label2)}
    drawn = {id(label) for axes in figure.axes if _shown(axes) for axis in axes._axis_map.values()
             for tick in axis._update_ticks() for label in (tick.label1, tick.label2) if label.get_visible()}
    return [t for t in figure.findobj(Text) if t.get_text().strip() and _shown(t) and t.get_alpha() != 0
            and (id(t) not in ticks or id(t) in drawn)]


def _describe(artist) -> str:
    if isinstance(artist, Text):
        return f"text {artist.get_text()!r}"
    if isinstance(artist, Legend):
        return f"legend {artist.get_title().get_text()!r}" if artist.get_title().get_text() else "legend"
    label = artist.get_label()
    return f"{type(artist).__name__}" + (f" {label!r}" if label and not label.startswith("_") else "")


def _overlap(a: Bbox, b: Bbox) -> float:
    """Area (pixels²) of the intersection of two boxes."""
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(width, 0.0) * max(height, 0.0)


def _inner(box: Bbox, margin: float) -> Bbox:
    return Bbox.from_extents(box.x0 + margin, box.y0 + margin, box.x1 - margin, box.y1 - margin)


def _covers(box: Bbox, artist, renderer) -> bool:
    """Does ``box`` (a legend's) cover some of what ``artist`` draws?"""
    inside = _inner(box, SLACK)
    if isinstance(artist, Line2D):
        if artist.get_linestyle() in ("None", "none", "") and artist.get_marker() in (None, "None", "none", ""):
            return False
        path = artist.get_transform().transform_path(artist.get_path())
        if path.vertices.size == 0:
            return False
        points = path.vertices[np.isfinite(path.vertices).all(axis=1)]
        if artist.get_marker() not in (None, "None", "none", "") and inside.count_contains(points):
            return True
        return artist.get_linestyle() not in ("None", "none", "") and path.intersects_bbox(inside, filled=False)
    if isinstance(artist, Collection):
        transform = artist.get_transform()
        for path in artist.get_paths():
            if path.vertices.size and transform.transform_path(path).intersects_bbox(inside, filled=True):
                return True
        offsets = artist.get_offsets()
        if len(offsets) and len(artist.get_paths()) == 1 and artist.get_offset_transform() is not None:
            return bool(inside.count_contains(artist.get_offset_transform().transform(offsets)))
        return False
    if isinstance(artist, Patch):
        path = artist.get_transform().transform_path(artist.get_path())
        return bool(path.vertices.size) and path.intersects_bbox(inside, filled=artist.get_fill())
    extent = artist.get_window_extent(renderer)
    return _overlap(inside, extent) > 0


def _data_artists(axes: Axes) -> list:
    """What an axes shows of the data: bars and other patches, lines, bands and markers, images, its texts."""
    artists = [p for p in axes.patches if _shown(p) and isinstance(p, Patch)
               and p.get_window_extent().width > 0.5 and p.get_window_extent().height > 0.5]
    artists += [line for line in axes.lines if _shown(line)]
    artists += [c for c in axes.collections if _shown(c)]
    artists += [image for image in axes.images if _shown(image)]
    artists += [t for t in axes.texts if _shown(t) and t.get_text().strip()]
    return artists


def layout_problems(figure: Figure) -> list[str]:
    """Every clipped text, every legend over the data and every pair of overlapping texts, in words."""
    FigureCanvasAgg(figure)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    frame = figure.bbox
    problems: list[str] = []
    texts = _texts(figure)
    extents = {id(t): t.get_window_extent(renderer) for t in texts}
    for text in texts:
        box = extents[id(text)]
        if box.x0 < frame.x0 - SLACK or box.y0 < frame.y0 - SLACK or box.x1 > frame.x1 + SLACK \
                or box.y1 > frame.y1 + SLACK:
            problems.append(f"{_describe(text)} is clipped: it reaches {box.bounds} beyond the figure {frame.bounds}")
    legends = [(axes, axes.get_legend()) for axes in figure.axes if axes.get_legend() is not None]
    legends += [(None, legend) for legend in figure.legends]
    for axes, legend in legends:
        if not _shown(legend):
            continue
        box = legend.get_window_extent(renderer)
        legend_texts = {id(t) for t in legend.findobj(Text)}
        covered = _data_artists(axes) if axes is not None else [a for ax in figure.axes for a in _data_artists(ax)]
        for artist in covered:
            if id(artist) not in legend_texts and _covers(box, artist, renderer):
                problems.append(f"{_describe(legend)} covers {_describe(artist)}")
    for axes in figure.axes:  # a label over a whisker or a curve cannot be read
        lines = [a for a in axes.lines + axes.collections if _shown(a) and isinstance(a, (Line2D, LineCollection))]
        for text in axes.texts:
            if id(text) in extents:
                box = extents[id(text)]
                problems += [f"{_describe(text)} lies over {_describe(line)}" for line in lines
                             if _covers(box, line, renderer)]
    for first, second in combinations(texts, 2):
        if first.get_rotation() != second.get_rotation() and _overlap(extents[id(first)], extents[id(second)]) == 0:
            continue
        area = _overlap(_inner(extents[id(first)], SLACK), _inner(extents[id(second)], SLACK))
        if area > 0:
            problems.append(f"{_describe(first)} overlaps {_describe(second)}")
    return problems
