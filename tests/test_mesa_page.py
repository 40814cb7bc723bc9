"""Mesa's SolaraViz page of a single run (sim/app/mesa_page.py; issue 18, item 4): built from mesa.visualization
components, rendered with Solara's test renderer; its model is re-created the way SolaraViz resets it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("solara", reason="the app extra is not installed: pip install -e '.[app]'")
visualization = pytest.importorskip("mesa.visualization", reason="mesa.visualization needs the app extra (altair)")

import ipywidgets  # noqa: E402
import solara  # noqa: E402

from sim.app import mesa_page  # noqa: E402
from sim.app.mesa_page import SingleRun, components, model_params, page, status_text  # noqa: E402
from sim.scenario.errors import UserError  # noqa: E402
from sim.scenario.loader import load_scenario  # noqa: E402
from sim.scenario.schema import FORMS  # noqa: E402
from tests.figure_layout import layout_problems  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KARABAKH = ROOT / "scenarios" / "nagorno_karabakh_2020.yaml"
JULY_1914 = ROOT / "scenarios" / "july_1914.yaml"


def test_the_app_extra_makes_mesa_visualization_importable() -> None:
    assert callable(visualization.SolaraViz) and callable(visualization.make_plot_component)


def test_the_model_reports_every_outside_powers_form_day_by_day() -> None:
    model = SingleRun(JULY_1914, seed=3)
    while model.running:
        model.step()
    series = model.datacollector.get_model_vars_dataframe()
    outside = [actor.actor_id for actor in model.actors if actor.is_outside]
    assert len(series) == model.day + 1  # day 0, then the end of every day
    assert {f"form_{actor}" for actor in outside} <= set(series.columns)
    for actor in model.actors:
        if actor.is_outside:
            values = series[f"form_{actor.actor_id}"].to_numpy()
            assert values[-1] == float(model.form[actor.index][0, 0])
            assert set(values) <= set(range(len(FORMS)))
    assert series["regional_escalation"].iloc[-1] == float(model.escalation_day[0, 0] >= 0)
    assert series["form_russia"].max() >= FORMS.index("limited")  # the cascade this seed plays


def test_the_model_is_recreated_as_solaraviz_resets_it_and_a_seed_reproduces_the_run() -> None:
    first = SingleRun(KARABAKH, seed=11)
    params = model_params(first)
    fixed = {name: (value["value"] if isinstance(value, dict) else value) for name, value in params.items()}
    again = SingleRun(**fixed)   # what SolaraViz's Reset does: model.__class__(**model_parameters)
    for model in (first, again):
        for _ in range(10):
            model.step()
    assert first.datacollector.get_model_vars_dataframe().equals(again.datacollector.get_model_vars_dataframe())
    with pytest.raises(UserError, match="seed: found 'eleven'; allowed: a whole number"):
        SingleRun(KARABAKH, seed="eleven")


def _images(element) -> list[bytes]:
    _, rc = solara.render(element, handle_error=False)
    return [bytes(widget.value) for widget in rc.find(ipywidgets.Image).widgets]


def test_the_solaraviz_page_renders_its_plots() -> None:
    images = _images(page(KARABAKH, seed=5))
    assert len(images) == 4 and all(image.startswith(b"\x89PNG") for image in images)


def test_a_user_adds_a_component_of_their_own() -> None:
    model = SingleRun(KARABAKH, seed=5)
    seen = []

    @solara.component
    def Deaths(model):  # noqa: N802 - Solara components are named like classes
        seen.append(float(model.casualties[1][0, 0]))
        solara.Markdown(f"Armenian deaths so far: {seen[-1]:,.0f}")

    extra = [*components(model), (Deaths, 0), visualization.make_plot_component("war_size")]
    images = _images(visualization.SolaraViz(model, components=extra, model_params=model_params(model)))
    assert len(images) == 5 and seen == [0.0]


def test_the_status_line_and_the_plots_read_at_a_glance(monkeypatch) -> None:
    model = SingleRun(JULY_1914, seed=3)
    while model.running:
        model.step()
    assert status_text(model).startswith(f"Day {model.day} of 30: the run ended with ")
    drawn = []
    original = solara.FigureMatplotlib

    def capture(figure, **kwargs):
        drawn.append(figure)
        return original(figure, **kwargs)

    monkeypatch.setattr(solara, "FigureMatplotlib", capture)
    _images(solara.Column(children=[make(model) for make, _ in mesa_page.components(model)]))
    assert len(drawn) == 4
    for figure in drawn:
        assert layout_problems(figure) == []
    form = drawn[1].axes[0]
    assert [t.get_text() for t in form.get_yticklabels()] == list(FORMS)
    assert [t.get_text() for t in form.get_legend().get_texts()] == ["Russia", "Germany", "France", "Britain",
                                                                     "Belgium", "Italy"]
    russia = form.get_lines()[0].get_ydata()
    assert np.array_equal(russia, model.datacollector.get_model_vars_dataframe()["form_russia"].to_numpy())


def test_a_scenario_object_or_a_file_give_the_same_page_model() -> None:
    from_file = SingleRun(KARABAKH, seed=2)
    from_object = SingleRun(load_scenario(KARABAKH), seed=2)
    from_file.step()
    from_object.step()
    series = [model.datacollector.get_model_vars_dataframe() for model in (from_file, from_object)]
    assert series[0].equals(series[1])
