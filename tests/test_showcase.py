"""The July 1914 showcase: a valid scenario whose entries follow the chain its commitments imply.

The chain, read off scenarios/july_1914.yaml (and the one-link-a-day rule of sim/model/commitments.py:
every commitment's trigger is computed once a day, before any outside power decides, and an entry
takes effect in the camps only for the next day's triggers):

- Russia's patronage of Serbia is the only tie that can fire first (Serbia is at war on day 0).
- Germany's Dual Alliance tie triggers only on ``rival_entry`` against Austria-Hungary: an outside
  power in combat in the other camp. The only such power that can enter before Germany is Russia
  (France needs an entrant against Russia; Britain needs German fire on Belgium; Italy would join
  Austria-Hungary's own camp). So Germany is never in combat unless Russia is, and strictly later.
- France's alliance with Russia triggers only on an outside power in combat against Russia's camp,
  that is Germany or Italy (both can only join the central camp): France enters strictly after
  Russia and strictly after the first of them.
- Britain can enter only through its guarantee of Belgium (the consultation tie to France stops at
  posturing), whose trigger is German fire hitting Belgium: only while Germany fights, which begins
  the day after it enters. Britain decides after the day's incidents, so it can enter the day after
  Germany's entry at the earliest.
- Belgium has no commitment of its own: it climbs one form per unabsorbed hit from German fire
  (none, political, posturing, deniable, indirect, limited), so it needs five days of German
  fighting: at least five days after Germany's entry.
- Italy's ties trigger on an entrant against Austria-Hungary or Germany: strictly after Russia.

These are exact constraints, so they are checked on every run of a fixed seed; the test also checks
that the chain is actually exercised (Germany and France enter in some runs), so that it cannot
pass vacuously.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.model.model import EscalationModel
from sim.scenario import load_scenario, validate_file

SHOWCASE = Path(__file__).resolve().parent.parent / "scenarios" / "july_1914.yaml"
ENTRANTS = ("russia", "germany", "france", "britain", "belgium", "italy")
NEVER = np.iinfo(np.int64).max


def first_combat_days(replications: int, seed: int) -> dict[str, np.ndarray]:
    """Per outside power, the first day in combat in each run (NEVER where it never fought).

    The one place that reads the model's per-actor outputs (``combat_day_<actor>``, -1 = never).
    """
    model = EscalationModel(load_scenario(SHOWCASE), replications, rng=seed, record_series=False)
    model.run()
    results = model.results()
    days = {actor: results[f"combat_day_{actor}"].astype(np.int64) for actor in ENTRANTS}
    return {actor: np.where(value >= 0, value, NEVER) for actor, value in days.items()}


def test_the_showcase_validates() -> None:
    assert validate_file(SHOWCASE) == []


def test_first_combat_days_follow_the_chain_of_commitments() -> None:
    day = first_combat_days(4_000, seed=19140728)
    entered = {actor: days < NEVER for actor, days in day.items()}

    assert entered["germany"].sum() >= 100 and entered["france"].sum() >= 20, "the chain is not exercised"

    assert np.all(day["germany"][entered["germany"]] > day["russia"][entered["germany"]])
    first_against_russia = np.minimum(day["germany"], day["italy"])
    assert np.all(day["france"][entered["france"]] > day["russia"][entered["france"]])
    assert np.all(day["france"][entered["france"]] > first_against_russia[entered["france"]])
    assert np.all(day["britain"][entered["britain"]] > day["germany"][entered["britain"]])
    assert np.all(day["belgium"][entered["belgium"]] >= day["germany"][entered["belgium"]] + 5)
    assert np.all(day["italy"][entered["italy"]] > day["russia"][entered["italy"]])
