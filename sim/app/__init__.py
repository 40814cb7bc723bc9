"""The what-if page: ``escalation app SCENARIO``, a Solara app in the style of Mesa's SolaraViz.

:mod:`sim.app.engine` re-estimates the risk as the analyst moves a control (plain Python, no
Solara); :mod:`sim.app.adapter` holds every read of model-specific outputs; :mod:`sim.app.figures`
draws the figures; :mod:`sim.app.components` and :mod:`sim.app.app` are the page (they need the
``app`` extra: ``pip install "escalation-sim[app]"``).
"""
