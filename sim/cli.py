"""The ``escalation`` command line: a thin layer over the Python API.

Every user mistake (bad file, bad flag, bad value) ends with one clear message on stderr and exit
status 2. Anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sim.console import terminate
from sim.ensemble.chunks import MAX_CHUNK_SIZE
from sim.ensemble.executors import WorkerDiedError
from sim.output.results import RunInterruptedError, RunOutcome
from sim.scenario.errors import Problem, UserError
from sim.scenario.schema import MAX_RUNS
from sim.scenario.words import count

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario.loader import LoadedScenario

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
SWEEP_RUNS = 1_000


def _positive_int(limit: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", "").replace(",", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"found '{text}'; allowed: a whole number") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"found {value}; allowed: 1 or more")
        if limit is not None and value > limit:
            raise argparse.ArgumentTypeError(f"found {value:,}; allowed: at most {limit:,}")
        return value
    return parse


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"found '{text}'; allowed: a whole number from 0") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"found {value}; allowed: 0 to 2**63 - 1")
    return value


def _probability_width(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"found '{text}'; allowed: a number between 0 and 1") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"found {value}; allowed: a width strictly between 0 and 1")
    return value



def _add_posterior(parser: argparse.ArgumentParser, what: str) -> None:
    """``--posterior [FILE]``: draw the shared dynamics from a calibration's posterior; ``what`` says what it does."""
    parser.add_argument("--posterior", nargs="?", const="shipped", default=None, metavar="FILE",
                        help="draw the shared dynamics from a calibration's posterior (the shipped one, or a "
                             f"posterior.csv of escalation calibrate): {what}")


def _posterior(args: argparse.Namespace) -> pd.DataFrame | None:
    """The draws ``--posterior`` names (None without it)."""
    if getattr(args, "posterior", None) is None:
        return None
    from sim.analysis.smc_calibration import read_posterior

    return read_posterior(None if args.posterior == "shipped" else args.posterior)


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors in the project's one-message form (exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message}\n(see {self.prog} --help)\n")


def _add_execution(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=_positive_int(1024), default=None,
                        help="local worker processes (default: all cores)")
    parser.add_argument("--executor", choices=("processes", "serial", "dask"), default="processes",
                        help="where chunks run (default: local processes)")
    parser.add_argument("--scheduler", default=None,
                        help="Dask scheduler address tcp://HOST:PORT (default: a local cluster)")
    parser.add_argument("--chunk-size", type=_positive_int(MAX_CHUNK_SIZE), default=None,
                        help="replications per chunk (default 10,000); results depend on it, not on --workers")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_saved_study(parser: argparse.ArgumentParser, name: str) -> None:
    """Flags shared by ``run`` and ``sweep``: seed, folder, overrides, resume, figures, precision."""
    per = " per point" if name == "sweep" else ""
    parser.add_argument("--seed", type=_seed, help="master seed (default: the scenario's seed)")
    parser.add_argument("--out", type=Path, help="results folder (default results/<scenario>/<UTC time>)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="DOTTED.PATH=VALUE",
                        help="override a scenario value, list entries named by id (repeatable)")
    parser.add_argument("--resume", type=Path, metavar="DIR", help=f"finish an interrupted {name} from its chunks")
    parser.add_argument("--recompute-damaged", action="store_true",
                        help="with --resume: set aside damaged or foreign chunk files and compute them again")
    parser.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    parser.add_argument("--target-ci-width", type=_probability_width, metavar="W",
                        help=f"add replications until the 95%% interval of P(regional escalation){per} "
                             "is narrower than W")
    parser.add_argument("--max-runs", type=_positive_int(MAX_RUNS), help=f"cap{per} for --target-ci-width")
    parser.add_argument("--format", dest="table_format", choices=("auto", "csv", "parquet"), default="auto",
                        help="per-run tables as CSV or Parquet (default auto: Parquet from 1,000,000 rows when "
                             "pyarrow is installed)")


def version_line() -> str:
    """``escalation-sim 0.1.0 (Python 3.11.7, Mesa 3.3.1)``: what ``escalation --version`` prints."""
    import platform
    from importlib import metadata

    from sim import __version__

    try:
        mesa = metadata.version("mesa")
    except metadata.PackageNotFoundError:
        mesa = "not installed"
    return f"escalation-sim {__version__} (Python {platform.python_version()}, Mesa {mesa})"


def build_parser() -> argparse.ArgumentParser:
    """The ``escalation`` argument parser with its subcommands."""
    parser = _Parser(prog="escalation", description="Scenario simulator of regional escalation risk.")
    parser.add_argument("--version", action="version", version=version_line(),
                        help="print the version of escalation-sim, Python and Mesa, and exit")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="run a scenario many times and save the results")
    run.add_argument("scenario", nargs="?", help="scenario YAML file")
    run.add_argument("--runs", type=_positive_int(MAX_RUNS), help="replications (default: the scenario's runs)")
    _add_posterior(run, "the headline gets a second interval, the calibration's")
    _add_saved_study(run, "run")
    _add_execution(run)

    validate = commands.add_parser("validate", help="check a scenario file and explain every problem")
    validate.add_argument("scenario", help="scenario YAML file")
    validate.add_argument("--set", dest="overrides", action="append", default=[], metavar="DOTTED.PATH=VALUE")
    validate.add_argument("--schema", action="store_true",
                          help="also check the file against the shipped JSON Schema, as an editor does "
                               "(dates read as text; needs jsonschema)")

    sweep = commands.add_parser("sweep", help="sweep parameters: P(regional escalation) at every point")
    sweep.add_argument("scenario", nargs="?", help="scenario YAML file")
    sweep.add_argument("--param", dest="parameters", action="append", default=[], metavar="PATH=START:STOP:NUM",
                       help="a parameter to vary (repeatable); PATH=a,b,c for a list of values "
                            "(default: the scenario's declared uncertainties)")
    sweep.add_argument("--design", choices=("grid", "lhs"), default=None,
                       help="full grid, or Latin hypercube (default: grid for --param, lhs of 64 points for the "
                            "declared uncertainties)")
    sweep.add_argument("--samples", type=_positive_int(100_000), help="points of a Latin hypercube")
    sweep.add_argument("--runs", type=_positive_int(MAX_RUNS), help=f"replications per point (default {SWEEP_RUNS:,})")
    _add_posterior(sweep, "at every point the runs are split over the draws (the points on common random numbers at "
                          "each draw), and P(regional escalation) gets the draws' 90%% interval")
    _add_saved_study(sweep, "sweep")
    _add_execution(sweep)

    sensitivity = commands.add_parser("sensitivity", help="global sensitivity analysis with SALib")
    sensitivity.add_argument("scenario", help="scenario YAML file")
    sensitivity.add_argument("--param", dest="parameters", action="append", default=[], metavar="PATH=LOW:HIGH",
                             help="a parameter and its range (repeatable; default: the scenario's declared "
                                  "uncertainties with a range)")
    sensitivity.add_argument("--method", choices=("sobol", "morris"), default="sobol")
    sensitivity.add_argument("--samples", type=_positive_int(1 << 16), default=64,
                             help="base samples N (Sobol': a power of two) or Morris trajectories")
    sensitivity.add_argument("--runs", type=_positive_int(MAX_RUNS), default=500, help="replications per point")
    sensitivity.add_argument("--seed", type=_seed, help="master seed (default: the scenario's seed)")
    sensitivity.add_argument("--set", dest="overrides", action="append", default=[], metavar="DOTTED.PATH=VALUE")
    sensitivity.add_argument("--out", type=Path, help="results folder")
    _add_execution(sensitivity)

    compare = commands.add_parser("compare", help="compare two variants on common random numbers")
    compare.add_argument("first", help="scenario YAML file")
    compare.add_argument("second", nargs="?", help="second scenario (default: the first, with --set-b)")
    compare.add_argument("--set-a", dest="first_overrides", action="append", default=[], metavar="PATH=VALUE")
    compare.add_argument("--set-b", dest="second_overrides", action="append", default=[], metavar="PATH=VALUE")
    compare.add_argument("--runs", type=_positive_int(MAX_RUNS), default=10_000, help="paired replications")
    compare.add_argument("--seed", type=_seed, help="master seed (default: the first scenario's seed)")
    _add_posterior(compare, "both variants paired at every draw, each risk and the difference with a second "
                            "interval, the draws' 90%%")
    compare.add_argument("--out", type=Path, help="results folder")
    _add_execution(compare)

    backtest = commands.add_parser("backtest", help="score the model's forecasts on historical cases")
    backtest.add_argument("cases", type=Path, help="a folder of case scenarios with 'observed:' blocks")
    backtest.add_argument("--runs", type=_positive_int(MAX_RUNS), default=10_000, help="replications per case")
    backtest.add_argument("--seed", type=_seed, help="master seed (default: each case's own)")
    backtest.add_argument("--out", type=Path, help="results folder (default results/backtest/<UTC time>)")
    backtest.add_argument("--calibrated", type=Path, metavar="FOLDER",
                          help="also score the leave-one-out and in-sample forecasts of an escalation calibrate "
                               "folder (its loo.csv)")
    _add_posterior(backtest, "every case forecast as its posterior predictive, the runs split over the draws")
    _add_execution(backtest)

    calibrate = commands.add_parser("calibrate", help="fit the shared dynamics across the case library, with "
                                    "leave-one-out forecasts")
    calibrate.add_argument("cases", type=Path, help="a folder of case scenarios with 'observed:' blocks")
    calibrate.add_argument("--parameters", type=Path, metavar="FILE.yaml",
                           help="the dynamics to fit, one 'name: [low, high]' prior range a line (default: "
                                "sim.analysis.calibrate.DEFAULT_DYNAMICS, listed in docs/MODEL.md section 11.1)")
    calibrate.add_argument("--method", choices=("smc", "design"), default="smc",
                           help="smc (default): every dynamic fitted jointly by tempered sequential Monte Carlo; "
                                "design: importance weights over a fixed Sobol' design, with exact leave-one-out")
    calibrate.add_argument("--particles", type=_positive_int(4096), default=None,
                           help="smc: the population of sets of dynamics (default 128)")
    calibrate.add_argument("--moves", type=_positive_int(20), default=None,
                           help="smc: Metropolis-Hastings moves per tempering step (default 2)")
    calibrate.add_argument("--folds", type=_positive_int(1000), default=None,
                           help="smc: also forecast every case out of sample, the whole fit rerun without each of "
                                "K folds of cases (K times the cost)")
    calibrate.add_argument("--split-year", type=_positive_int(3000), default=None, metavar="YEAR",
                           help="smc: also fit on the crises that began before YEAR and score those from YEAR on")
    calibrate.add_argument("--candidates", type=_positive_int(4096), default=None,
                           help="design: candidate sets of dynamics, a scrambled Sobol' design (default 64; a power "
                                "of two keeps it balanced)")
    calibrate.add_argument("--runs", type=_positive_int(MAX_RUNS), default=None,
                           help="replications per candidate (or particle) and case (default 200 for smc, 500 for "
                                "design)")
    calibrate.add_argument("--seed", type=_seed, help="seed of the design and of every case's runs (default: design "
                                                      "seed 0, each case's own seed)")
    calibrate.add_argument("--out", type=Path, help="results folder (default results/calibrate/<UTC time>)")
    _add_execution(calibrate)

    migrate = commands.add_parser("migrate", help="rewrite a scenario of the first format (two belligerents, "
                                  "ties) in the current one, comments kept")
    migrate.add_argument("scenario", type=Path, help="scenario YAML file in the first format")
    migrate.add_argument("--in-place", action="store_true", help="overwrite the file (default: print the result)")
    params = commands.add_parser("params", help="list every overridable path with its value, bounds and meaning")
    params.add_argument("scenario", help="scenario YAML file")
    params.add_argument("--set", dest="overrides", action="append", default=[], metavar="DOTTED.PATH=VALUE")
    params.add_argument("--json", action="store_true", help="JSON rows instead of a table")

    commands.add_parser("schema", help="print the JSON Schema of the scenario format (for editors)")

    plot = commands.add_parser("plot", help="redraw the figures of a saved run")
    plot.add_argument("results", type=Path, help="a results folder")

    app = commands.add_parser("app", help="the what-if page in the browser (needs the app extra)")
    app.add_argument("scenario", help="scenario YAML file")
    app.add_argument("--host", default="localhost", help="address to serve on (default localhost)")
    app.add_argument("--port", type=_positive_int(65535), default=8765, help="port to serve on (default 8765)")
    app.add_argument("--seed", type=_seed, help="seed of every estimate (default: the scenario's seed)")
    app.add_argument("--runs", type=_positive_int(MAX_RUNS),
                     help="replications each estimate refines to in the background (default 64,000)")
    app.add_argument("--mesa", action="store_true",
                     help="serve Mesa's SolaraViz page of one run instead (sim/app/mesa_page.py)")

    rerun = commands.add_parser("rerun", help="run a saved run again from its manifest and compare")
    rerun.add_argument("results", type=Path, help="a results folder")
    rerun.add_argument("--out", type=Path, help="folder for the new run (default: beside the old one)")
    _add_execution(rerun)
    return parser


def _notify(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


def _load(path: Path | str, overrides: Sequence[str] = ()) -> LoadedScenario:
    """Load a scenario, with a note for each declared range that leaves out the scenario's own value."""
    from sim.scenario.loader import load_with_provenance, range_warnings

    loaded = load_with_provenance(path, overrides)
    for problem in range_warnings(loaded):
        _notify(f"warning: {problem.render()}")
    return loaded


def _executor(args: argparse.Namespace):
    from sim.ensemble.executors import make_executor

    if args.scheduler and args.executor != "dask":
        raise UserError(Problem("--scheduler needs --executor dask", source="--scheduler"))
    return make_executor(args.workers, args.executor, args.scheduler)


def _chunk_size(args: argparse.Namespace, runs: int | None = None, points: int = 1) -> int:
    """The chunk size of a command; with ``runs``, refuse one that would make it far slower (and say why)."""
    from sim.ensemble.chunks import (
        DEFAULT_CHUNK_SIZE,
        MAX_SLOWDOWN,
        chunk_count,
        chunking_slowdown,
        smallest_reasonable_chunk_size,
    )

    size = args.chunk_size or DEFAULT_CHUNK_SIZE
    if runs is None or args.chunk_size is None:
        return size
    slowdown = chunking_slowdown(runs, size, points)
    why = (f"{count(chunk_count(runs, size, points), 'chunk')}, each a model with its own set-up cost, make this about "
           f"{slowdown:,.0f} times slower than the default chunk size {DEFAULT_CHUNK_SIZE:,}")
    if slowdown > MAX_SLOWDOWN:
        raise UserError(Problem(
            f"found {size:,} for {count(runs, 'run')}: {why}; allowed: at least "
            f"{smallest_reasonable_chunk_size(runs, points):,} for this many runs (or leave --chunk-size out)",
            source="--chunk-size"))
    if slowdown > 3:
        _notify(f"--chunk-size {size:,}: {why}")
    return size


def _execute(args: argparse.Namespace, sweep: bool) -> RunOutcome:
    """Start a run or sweep into a new folder, or finish one with --resume: the shared path."""
    from sim.output.results import execute_run, resume_run

    name = "sweep" if sweep else "run"
    progress = not args.no_progress
    if args.resume is not None:
        if (args.scenario or args.overrides or args.runs or args.seed is not None or args.out
                or args.table_format != "auto"):
            raise UserError(Problem(f"--resume continues a saved {name} as it was started; give only the folder "
                                    "(and --workers)", source="--resume"))
        return resume_run(args.resume, executor=_executor(args), progress=progress, notify=_notify,
                          figures=not args.no_figures, recompute_damaged=args.recompute_damaged)
    if args.recompute_damaged:
        raise UserError(Problem("--recompute-damaged goes with --resume DIR", source="--recompute-damaged"))
    if not args.scenario:
        raise UserError(Problem("give a scenario file, or --resume DIR", source=f"escalation {name}"))
    if args.max_runs is not None and args.target_ci_width is None:
        raise UserError(Problem("--max-runs caps --target-ci-width; give both", source="--max-runs"))
    loaded = _load(args.scenario, args.overrides)
    seed = loaded.scenario.seed if args.seed is None else args.seed
    design, kind = None, None
    if sweep:
        from sim.analysis.sweep import study_design

        if args.samples is not None and args.design == "grid":
            raise UserError(Problem("--samples is for --design lhs", source="--samples"))
        design, kind = study_design(loaded.scenario, args.parameters, args.design, args.samples, seed)
    runs = args.runs or (SWEEP_RUNS if sweep else loaded.scenario.runs)
    source, posterior = None, _posterior(args)
    if posterior is not None:
        from sim.output.results import POSTERIOR, posterior_sweep_design

        if args.target_ci_width is not None:
            raise UserError(Problem("--target-ci-width does not go with --posterior (the draws share the runs)",
                                    source="--posterior"))
        source = "shipped" if args.posterior == "shipped" else str(args.posterior)
        runs = -(-runs // len(posterior))  # per draw
        design, kind = (posterior_sweep_design(design, posterior), kind) if sweep else (posterior, POSTERIOR)
    points = 1 if design is None else len(design)
    chunk_size = _chunk_size(args, args.max_runs or runs if args.target_ci_width else runs, points)
    return execute_run(loaded, runs=runs, seed=seed, out=args.out,
                       executor=_executor(args), chunk_size=chunk_size, progress=progress,
                       figures=not args.no_figures, command=["escalation", *sys.argv[1:]], notify=_notify,
                       design=design, design_kind=kind if sweep or source else None,
                       target_ci_width=args.target_ci_width, max_runs=args.max_runs or MAX_RUNS,
                       table_format=args.table_format, design_source=source,
                       posterior_sweep=posterior if sweep else None)


def command_run(args: argparse.Namespace) -> int:
    """``escalation run``: run, save, print the summary table."""
    from sim.output.report import run_report

    outcome = _execute(args, sweep=False)
    print(run_report(outcome.summary, str(outcome.folder)))
    return 0


def command_sweep(args: argparse.Namespace) -> int:
    """``escalation sweep``: a grid or Latin hypercube of points, one vectorised ensemble."""
    from sim.output.report import sweep_report

    outcome = _execute(args, sweep=True)
    print(sweep_report(outcome.summary, str(outcome.folder)))
    return 0


def command_sensitivity(args: argparse.Namespace) -> int:
    """``escalation sensitivity``: SALib indices, saved and printed, with a ranked bar chart."""
    from sim.analysis.sensitivity import sensitivity
    from sim.analysis.sweep import declared_parameters
    from sim.output.analysis_figures import save, sensitivity_figure
    from sim.output.report import sensitivity_report
    from sim.output.results import build_manifest, check_folder, claim_folder, publish, write_manifest

    check_folder(args.out)
    loaded = _load(args.scenario, args.overrides)
    seed = loaded.scenario.seed if args.seed is None else args.seed
    parameters = args.parameters or declared_parameters(loaded.scenario, numeric_only=True)
    result = sensitivity(loaded, parameters, method=args.method, samples=args.samples, runs=args.runs,
                         seed=seed, executor=_executor(args), chunk_size=_chunk_size(args),
                         progress=not args.no_progress, origin="--param")
    partial = claim_folder(args.out, loaded.scenario.name)
    result.indices.to_csv(partial / "sensitivity.csv", index=False)
    result.design.to_csv(partial / "design.csv", index=False)
    write_manifest(partial / "manifest.json", build_manifest(
        loaded, runs=args.runs, seed=seed, chunk_size=_chunk_size(args), command=["escalation", *sys.argv[1:]],
        extra={"kind": "sensitivity", "method": args.method, "samples": args.samples,
               "parameters": parameters, "status": "complete"}))
    save(sensitivity_figure(result.indices, args.method, loaded.scenario.title, len(result.design), args.runs),
         partial / "figures" / "sensitivity.png")
    folder = publish(partial)
    print(sensitivity_report(result, loaded.scenario.title, args.runs, seed, str(folder)))
    return 0


def command_compare(args: argparse.Namespace) -> int:
    """``escalation compare``: two variants, paired difference, side-by-side outcomes."""
    from sim.analysis.compare import compare
    from sim.output.analysis_figures import comparison_figure, save
    from sim.output.report import comparison_report
    from sim.output.results import build_manifest, check_folder, claim_folder, publish, write_json, write_manifest

    check_folder(args.out)
    first = _load(args.first)
    second = _load(args.second) if args.second else None
    if second is None and not (args.first_overrides or args.second_overrides):
        raise UserError(Problem("give a second scenario, or --set-a/--set-b overrides that make two variants",
                                source="escalation compare"))
    seed = first.scenario.seed if args.seed is None else args.seed
    posterior = _posterior(args)
    draws = 1 if posterior is None else len(posterior)
    runs = -(-args.runs // draws) * draws
    result = compare(first, second, first_overrides=args.first_overrides, second_overrides=args.second_overrides,
                     runs=args.runs, seed=seed, chunk_size=_chunk_size(args, runs // draws, 2 * draws),
                     executor=_executor(args), progress=not args.no_progress, origins=("--set-a", "--set-b"),
                     dynamics=posterior)
    partial = claim_folder(args.out, first.scenario.name)
    data = result.to_dict()
    write_json(partial / "comparison.json", data)
    write_manifest(partial / "manifest.json", build_manifest(
        first, runs=args.runs, seed=seed, chunk_size=_chunk_size(args), command=["escalation", *sys.argv[1:]],
        extra={"kind": "comparison", "second": None if second is None else {"source": second.source,
                                                                          "sha256": second.sha256,
                                                                          "text": second.text},
               "first_overrides": args.first_overrides, "second_overrides": args.second_overrides,
               "posterior": args.posterior, "status": "complete"}))
    save(comparison_figure(data), partial / "figures" / "comparison.png")
    folder = publish(partial)
    print(comparison_report(result, first.scenario.title, runs, seed, str(folder),
                            posterior=None if posterior is None else (args.posterior, draws)))
    return 0


def command_backtest(args: argparse.Namespace) -> int:
    """``escalation backtest``: forecasts next to history, Brier and log scores, reliability plot."""
    from sim.analysis.backtest import backtest
    from sim.output.analysis_figures import reliability_figure, save
    from sim.output.report import backtest_report
    from sim.output.results import check_folder, claim_folder, publish, versions, write_json

    check_folder(args.out)
    posterior = _posterior(args)
    per_draw = args.runs if posterior is None else -(-args.runs // len(posterior))
    result = backtest(args.cases, runs=args.runs, seed=args.seed, calibrated=args.calibrated, posterior=posterior,
                      executor=_executor(args), chunk_size=_chunk_size(args, per_draw),
                      progress=not args.no_progress)
    partial = claim_folder(args.out, "backtest")
    result.cases.to_csv(partial / "backtest.csv", index=False)
    if result.calibrated_scores is not None:
        result.calibrated_scores.to_csv(partial / "calibrated_scores.csv", index=False)
    result.facts.to_csv(partial / "stylised_facts.csv", index=False)
    write_json(partial / "backtest.json", {**result.to_dict(), "runs_per_case": args.runs, "seed": args.seed,
                                           "posterior": args.posterior,
                                           "command": ["escalation", *sys.argv[1:]], "versions": versions()})
    save(reliability_figure(result.cases, result.scores), partial / "figures" / "reliability.png")
    folder = publish(partial)
    print(backtest_report(result, args.runs if posterior is None else per_draw * len(posterior), str(folder),
                          posterior=None if posterior is None else (args.posterior, len(posterior))))
    return 0


def command_calibrate(args: argparse.Namespace) -> int:
    """``escalation calibrate``: shared dynamics fitted across the cases, leave-one-out forecasts, a report."""
    import time

    if args.method == "smc":
        if args.candidates is not None:
            raise UserError(Problem("--candidates is for --method design; allowed with smc: --particles",
                                    source="--candidates"))
        return _calibrate_smc(args)
    for flag, value in (("--folds", args.folds), ("--split-year", args.split_year), ("--particles", args.particles),
                        ("--moves", args.moves)):
        if value is not None:
            raise UserError(Problem(f"{flag} is for --method smc (the design's leave-one-out is exact and always "
                                    "written); allowed with design: --candidates, --runs", source=flag))
    args.runs = 500 if args.runs is None else args.runs
    args.candidates = 64 if args.candidates is None else args.candidates

    from sim.analysis.calibrate import SMALL_ESS, calibrate, read_ranges
    from sim.output.analysis_figures import save
    from sim.output.calibration import calibration_markdown, fitted_dynamics_yaml, forecasts_figure, weights_figure
    from sim.output.results import check_folder, claim_folder, publish, versions, write_json

    check_folder(args.out)
    ranges = read_ranges(args.parameters) if args.parameters is not None else None
    started = time.perf_counter()
    result = calibrate(args.cases, ranges, candidates=args.candidates, runs=args.runs, seed=args.seed,
                       executor=_executor(args), chunk_size=_chunk_size(args, args.runs, args.candidates + 1),
                       progress=not args.no_progress, notify=_notify)
    elapsed = time.perf_counter() - started
    positives = int(result.loo["observed_regional_escalation"].sum())
    seed = "each case's own seed, design seed 0" if args.seed is None else f"seed {args.seed}"
    title = (f"{count(len(result.cases), 'case')} of {args.cases} ({positives} with an outside power in combat), "
             f"{count(len(result.design), 'candidate')}, {count(args.runs, 'run')} per candidate and case, {seed}.")
    scores = result.escalation_scores()
    partial = claim_folder(args.out, "calibrate")
    (partial / "fitted_dynamics.yaml").write_text(fitted_dynamics_yaml(result.parameters, [
        f"escalation calibrate: {title}",
        "MAP candidate (the simulated set of dynamics with the highest posterior weight); the comment gives the",
        f"posterior mean and 90% interval. Effective sample size {result.ess:.1f} (report.md)."]), encoding="utf-8")
    result.candidates_table().to_csv(partial / "candidates.csv", index=False)
    result.loo.to_csv(partial / "loo.csv", index=False)
    result.parameters.to_csv(partial / "parameters.csv", index=False)
    scores.to_csv(partial / "scores.csv", index=False)
    report = calibration_markdown(title_line=title, parameters=result.parameters, ess=result.ess,
                                  small_ess=SMALL_ESS, candidates=len(result.design),
                                  outcome_totals=result.outcome_totals(), scores=scores,
                                  loo_outcomes=result.loo_outcome_scores(), notes=result.notes, elapsed=elapsed)
    (partial / "report.md").write_text(report, encoding="utf-8")
    write_json(partial / "manifest.json", {
        "kind": "calibration", "command": ["escalation", *sys.argv[1:]], "cases": result.cases,
        "ranges": {name: list(bounds) for name, bounds in result.ranges.items()}, "candidates": len(result.design),
        "runs": args.runs, "seed": args.seed, "design_seed": result.design_seed, "ess": result.ess,
        "wall_seconds": elapsed, "versions": versions(), "status": "complete"})
    save(weights_figure(result.design, result.weights, result.parameters), partial / "figures" / "weights.png")
    save(forecasts_figure(result.loo), partial / "figures" / "loo_forecasts.png")
    folder = publish(partial)
    if result.ess < SMALL_ESS:
        _notify(f"the effective sample size of the posterior weights is {result.ess:.1f} of {len(result.design)} "
                "candidates: the intervals rest on a few candidates (report.md)")
    print(report.rstrip())
    print(f"\nResults: {folder}")
    return 0


def _calibrate_smc(args: argparse.Namespace) -> int:
    """``escalation calibrate`` by tempered sequential Monte Carlo: every shared dynamic jointly, with
    out-of-sample forecasts from whole refits (``--folds``, ``--split-year``)."""
    import time

    import pandas as pd

    from sim.analysis.backtest import calibrated_scores, calibration_slope
    from sim.analysis.calibrate import read_ranges
    from sim.analysis.smc_calibration import (
        DEFAULT_MOVES,
        DEFAULT_PARTICLES,
        DEFAULT_SMC_RUNS,
        cross_validate,
        joint_calibration,
        k_folds,
        library,
        reference_forecasts_of,
        split_scores,
        time_split,
    )
    from sim.output.analysis_figures import save
    from sim.output.calibration import forecasts_figure, posterior_figure, posterior_yaml, smc_markdown
    from sim.output.results import check_folder, claim_folder, publish, versions, write_json

    check_folder(args.out)
    ranges = read_ranges(args.parameters) if args.parameters is not None else None
    runs = DEFAULT_SMC_RUNS if args.runs is None else args.runs
    args.particles = DEFAULT_PARTICLES if args.particles is None else args.particles
    args.moves = DEFAULT_MOVES if args.moves is None else args.moves
    cases = library(args.cases)
    folds = k_folds(cases, args.folds) if args.folds is not None else None
    split = time_split(cases, args.split_year) if args.split_year is not None else None
    # a fixed chunk size (results depend on it, never on the worker count): two chunks per case at the default
    options = {"executor": _executor(args), "chunk_size": _chunk_size(args, runs, args.particles)
               if args.chunk_size is not None else max(1, -(-runs // 2))}
    settings = {"particles": args.particles, "runs": runs, "seed": args.seed, "moves": args.moves}

    def reporter(prefix: str):
        if args.no_progress:
            return None
        return lambda step, beta, ess, accepted: print(
            f"{prefix}step {step}: beta {beta:.4g}, effective sample size {ess:.1f} of {args.particles}, "
            f"{100 * accepted:.0f}% of moves accepted", file=sys.stderr, flush=True)

    started = time.perf_counter()
    fit = joint_calibration(cases, ranges, report=reporter("calibrate: "), **settings, **options)
    in_sample = fit.forecasts()
    in_sample["p_reference"] = reference_forecasts_of(cases, runs, args.seed, **options)
    in_sample["observed_regional_escalation"] = [case.regional_escalation for case in cases]
    in_sample["committing_tie"] = [case.committing_tie for case in cases]
    loo = split_table = None
    if folds is not None:
        loo = cross_validate(cases, folds, ranges, **settings, **options,
                             report=reporter("calibrate, a fold: "))
        loo = loo.merge(in_sample[["case", "p_in_sample", "p_reference"]], on="case")
    if split is not None:
        training = [case for i, case in enumerate(cases) if i not in set(split[0])]
        split_table = cross_validate(cases, split, ranges, **settings, **options,
                                     report=reporter("calibrate, the time split: "))
    elapsed = time.perf_counter() - started
    parameters = fit.parameters()
    positives = sum(case.regional_escalation for case in cases)
    seed = "each case's own seed, sampler seed 0" if args.seed is None else f"seed {args.seed}"
    title = (f"{count(len(cases), 'case')} of {args.cases} ({positives} with an outside power in combat), "
             f"{count(args.particles, 'particle')}, {count(runs, 'run')} per particle and case, {seed}.")
    partial = claim_folder(args.out, "calibrate")
    posterior = fit.particles.copy()
    posterior["log_likelihood"] = fit.evaluation.total.sum(axis=1)
    posterior.to_csv(partial / "posterior.csv", index=False)
    parameters.to_csv(partial / "parameters.csv", index=False)
    pd.DataFrame({"step": range(1, len(fit.smc.ess) + 1), "beta": fit.smc.betas[1:], "ess": fit.smc.ess,
                  "acceptance": fit.smc.acceptance}).to_csv(partial / "steps.csv", index=False)
    in_sample.to_csv(partial / "in_sample.csv", index=False)
    (partial / "fitted_dynamics.yaml").write_text(posterior_yaml(parameters, [
        f"escalation calibrate: {title}",
        "Posterior mean of each dynamic the library identifies; one it does not identify keeps its sourced",
        f"reference value. Effective sample size {fit.ess:.1f} (report.md)."]), encoding="utf-8")
    scores = split_score_table = None
    slopes = {}
    if loo is not None:
        loo.to_csv(partial / "loo.csv", index=False)
        scores = calibrated_scores(loo)
        scores.to_csv(partial / "scores.csv", index=False)
        slopes["out of sample (folds)"] = calibration_slope(loo["p_loo"], loo["observed_regional_escalation"])
        save(forecasts_figure(loo), partial / "figures" / "loo_forecasts.png")
    slopes["in sample"] = calibration_slope(in_sample["p_in_sample"], in_sample["observed_regional_escalation"])
    if split_table is not None:
        split_table.to_csv(partial / "time_split.csv", index=False)
        split_score_table = split_scores(split_table, training)
        split_score_table.to_csv(partial / "time_split_scores.csv", index=False)
        slopes["after the time split"] = calibration_slope(split_table["p_loo"],
                                                           split_table["observed_regional_escalation"])
    report = smc_markdown(title_line=title, parameters=parameters, fit=fit, in_sample=in_sample, scores=scores,
                          folds=args.folds, split_year=args.split_year, split_scores=split_score_table,
                          slopes=slopes, elapsed=elapsed)
    (partial / "report.md").write_text(report, encoding="utf-8")
    write_json(partial / "manifest.json", {
        "kind": "calibration", "method": "smc", "command": ["escalation", *sys.argv[1:]], "cases": fit.cases,
        "ranges": {name: list(bounds) for name, bounds in fit.ranges.items()}, "particles": args.particles,
        "runs": runs, "moves": args.moves, "seed": args.seed, "chunk_size": options["chunk_size"], "ess": fit.ess,
        "distinct_particles": fit.smc.distinct, "evaluations": fit.smc.evaluations, "folds": args.folds,
        "split_year": args.split_year, "wall_seconds": elapsed, "versions": versions(), "status": "complete"})
    save(posterior_figure(fit.particles, parameters), partial / "figures" / "posterior.png")
    folder = publish(partial)
    print(report.rstrip())
    print(f"\nResults: {folder}")
    return 0


def command_validate(args: argparse.Namespace) -> int:
    """``escalation validate``: every problem in the file, or a one-line all-clear, and a note for each declared
    range that leaves out the scenario's own value."""
    loaded = _load(args.scenario, args.overrides)
    scenario = loaded.scenario
    camps = len({a.camp for a in scenario.actors if a.camp is not None})
    print(f"{args.scenario}: valid scenario '{scenario.name}': {count(len(scenario.actors), 'actor')} in "
          f"{count(camps, 'camp')} at war, {count(len(scenario.fronts), 'front')}, "
          f"{count(len(scenario.commitments), 'commitment')}, "
          f"{count(len(scenario.truces.scheduled), 'scheduled truce')}, horizon {count(scenario.horizon_days, 'day')}")
    if args.schema:
        from sim.scenario.jsonschema import SCHEMA_FILE, schema_problems

        problems = schema_problems(args.scenario)
        if problems:
            raise UserError(problems)
        print(f"{args.scenario}: satisfies the JSON Schema ({SCHEMA_FILE.name}, dates read as text)")
    return 0


def command_migrate(args: argparse.Namespace) -> int:
    """``escalation migrate``: the first format rewritten in the current one; then validated."""
    from sim.scenario.loader import load_text
    from sim.scenario.migrate import migrate_text
    from sim.scenario.yamlsource import read_document

    document = read_document(args.scenario)
    migrated = migrate_text(document.text, str(args.scenario))
    load_text(migrated, source=f"{args.scenario} (migrated)")
    if args.in_place:
        args.scenario.write_text(migrated, encoding="utf-8")
        print(f"{args.scenario}: rewritten in the current format (check the comments that mention the old fields)",
              file=sys.stderr)
    else:
        print(migrated, end="")
    return 0


def command_params(args: argparse.Namespace) -> int:
    """``escalation params``: every path ``--set`` accepts, its current value, what it allows, its meaning."""
    import json

    from sim.output.report import parameters_report
    from sim.scenario.loader import load_with_provenance
    from sim.scenario.uncertainties import parameter_rows

    rows = parameter_rows(load_with_provenance(args.scenario, args.overrides).scenario)
    print(json.dumps(rows, indent=2, ensure_ascii=False) if args.json else parameters_report(rows))
    return 0


def command_schema(args: argparse.Namespace) -> int:
    """``escalation schema``: the JSON Schema of scenario files, as shipped in the package."""
    from sim.scenario.jsonschema import schema_text

    sys.stdout.write(schema_text())
    return 0


def command_plot(args: argparse.Namespace) -> int:
    """``escalation plot``: redraw the figures from a results folder."""
    from sim.output.results import redraw

    for path in redraw(args.results, _notify):
        print(path)
    return 0


def command_rerun(args: argparse.Namespace) -> int:
    """``escalation rerun``: the same run again from its manifest; say whether summary.json matches."""
    from sim.output.results import (
        check_folder,
        execute_run,
        manifest_design,
        manifest_scenario,
        read_manifest,
        read_summary,
    )

    old = args.results
    manifest = read_manifest(old, _notify)
    if manifest.get("kind", "run") != "run":
        raise UserError(Problem(f"this folder holds a {manifest['kind']}; allowed: the folder of a run "
                                "(escalation run)", source=str(old / "manifest.json")))
    original = read_summary(old, manifest)
    loaded = manifest_scenario(manifest, old)
    out = args.out or old.with_name(old.name + "-rerun")
    check_folder(out)
    design = manifest_design(manifest)  # a run with --posterior: the same draws again
    outcome = execute_run(loaded, runs=manifest["runs"], seed=manifest["seed"], out=out,
                          chunk_size=manifest["chunk_size"], executor=_executor(args),
                          progress=not args.no_progress, command=["escalation", *sys.argv[1:]], notify=_notify,
                          table_format=manifest.get("table_format", "csv"), design=design,
                          design_kind=None if design is None else manifest["design"]["kind"],
                          design_source=None if design is None else manifest["design"].get("source"))
    same = original == (outcome.folder / "summary.json").read_bytes()
    print(f"rerun written to {outcome.folder}")
    print("summary.json is identical to the original" if same else "summary.json DIFFERS from the original")
    return 0 if same else 1


def command_app(args: argparse.Namespace) -> int:
    """``escalation app``: serve the what-if page (Solara, from the optional ``app`` extra)."""
    from importlib.util import find_spec

    if find_spec("solara") is None:
        raise UserError(Problem("the what-if page needs Solara, which is not installed; install the app extra: "
                                "pip install 'escalation-sim[app]'", source="escalation app"))
    from sim.app.app import serve

    _load(args.scenario)     # its mistakes, and its ranges that leave out its own values, before serving
    options = {} if args.runs is None else {"runs": args.runs}
    return serve(args.scenario, host=args.host, port=args.port, seed=args.seed, mesa=args.mesa, **options)


COMMANDS = {
    "run": command_run,
    "sweep": command_sweep,
    "sensitivity": command_sensitivity,
    "compare": command_compare,
    "backtest": command_backtest,
    "calibrate": command_calibrate,
    "validate": command_validate,
    "migrate": command_migrate,
    "params": command_params,
    "schema": command_schema,
    "plot": command_plot,
    "rerun": command_rerun,
    "app": command_app,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``escalation`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        return COMMANDS[args.command](args)
    except RunInterruptedError as error:
        print(error.render(), file=sys.stderr)
        return EXIT_INTERRUPTED
    except WorkerDiedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except UserError as error:
        print(f"error: {error.render()}" if len(error.problems) == 1 else error.render(), file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
