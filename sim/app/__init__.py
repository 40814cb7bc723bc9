"""The what-if page: ``escalation app SCENARIO``, a Solara app in the style of Mesa's SolaraViz.

:mod:`sim.app.engine` re-estimates the risk as the analyst moves a control (plain Python, no
Solara); :mod:`sim.app.adapter` holds every read of model-specific outputs; :mod:`sim.app.meanings`
labels the controls in docs/MODEL.md's words; :mod:`sim.app.export` writes the downloads (results
CSV, the variant as a scenario file); :mod:`sim.app.figures` draws the figures;
:mod:`sim.app.components` and :mod:`sim.app.app` are the page, and :mod:`sim.app.mesa_page` is Mesa's
own SolaraViz page of one run (``escalation app SCENARIO --mesa``); these need the ``app`` extra:
``pip install "escalation-sim[app]"``.
"""
