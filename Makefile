# Two commands for a newcomer: `make synth` and `make test`. Each sets up what it needs.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export PYTHONDONTWRITEBYTECODE := 1

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEPS := $(VENV)/.deps-installed
CLI := node_modules/.deps-installed

.PHONY: synth test lint typecheck unit cli-synth bench bench-recommend strategies clean

$(DEPS): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

$(CLI): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## Synthesize app.py into cdk.out/ (cdk-nag AwsSolutions checks run during synthesis).
synth: $(DEPS)
	$(PY) app.py
	@echo "synthesized into cdk.out/"

## Lint, type-check and run the whole test suite.
test: $(DEPS) $(CLI) lint typecheck calibrate-312 unit

## The calibration tests alone, and the time they take (the sum of pytest's per-test
## durations, set-up included; the issue's budget is 30 s).
.PHONY: calibration-time
calibration-time: $(DEPS) $(CLI)
	$(PY) -m pytest -p no:randomly tests/test_calibrate*.py --durations=0 -o addopts="" -q \
	  | tee /dev/stderr | awk '/^[0-9.]+s (setup|call|teardown)/ {sum += $$1} \
	    END {printf "calibration tests: %.1f s of test time\n", sum}'

## The calibration's SageMaker transport (deepgram-sagemaker needs Python 3.12+), offline, in
## its own virtual environment; skipped with a message where no Python 3.12 is found.
VENV312 ?= .venv-312
.PHONY: calibrate-312
calibrate-312:
	@py="$${PYTHON312:-}"; \
	if [ -z "$$py" ] && python3.12 -c pass 2>/dev/null; then py=python3.12; fi; \
	if [ -z "$$py" ] && command -v pyenv >/dev/null; then \
	  py="$$(ls -d "$$(pyenv root)"/versions/3.12*/bin/python3.12 2>/dev/null | tail -1)"; fi; \
	if [ -z "$$py" ]; then \
	  echo "SKIPPED calibrate-312: no Python 3.12 found (set PYTHON312=/path/to/python3.12)"; \
	  exit 0; fi; \
	test -x $(VENV312)/bin/python || "$$py" -m venv $(VENV312); \
	$(VENV312)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[calibrate]' pytest; \
	$(VENV312)/bin/python -m pytest tests/test_calibrate_sagemaker.py --noconftest

lint: $(DEPS)
	$(PY) -m ruff check deepgram_scaling tests app.py bench
	$(PY) -m ruff check integ

typecheck: $(DEPS)
	$(PY) -m mypy

unit: $(DEPS) $(CLI)
	$(PY) -m pytest

## The same app through the real CDK CLI (installed locally from npm).
cli-synth: $(DEPS) $(CLI)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" node_modules/.bin/cdk synth --no-notices --quiet

## Simulator speed and memory (30 days at 10 s, three pools).
bench: $(DEPS)
	$(PY) -m deepgram_scaling.simulator.bench

## Synthesis time of the example app over the same resources hand-written with aws-cdk-lib
## (bench/handwritten.py): medians of paired runs, one fresh process per pair, no cdk-nag.
.PHONY: bench-synth
bench-synth: $(DEPS)
	$(PY) -m bench.synth_ratio

## `deepgram-scaling check` as a whole process on a 500-resource template and on the whole
## corpus (tests/corpus/): CPU and wall time of five runs each, against a 1 s budget.
.PHONY: bench-check
bench-check: $(DEPS)
	$(PY) -m bench.check_speed

## `deepgram-scaling check` on the public templates in tests/corpus/: corpus size, precision and
## recall over all findings (errors and warnings), with the date, then each miss and surplus.
.PHONY: corpus
corpus: $(DEPS)
	$(PY) -m bench.corpus_score

## recommend's search (the README's SLO, two pools) on seeded 7-day and 30-day traces.
BENCH := cdk.out/bench
RECOMMEND := recommend --kind realtime --pools ml.g6.2xlarge,ml.g6e.2xlarge \
	--slo overload=0.001,cut=50 --max-capacity 30
bench-recommend: $(DEPS)
	mkdir -p $(BENCH)
	for days in 7 30; do \
		$(SIM) traces generate contact-centre --days $$days --seed 3 -o $(BENCH)/cc-$$days.csv; \
		start=$$(date +%s%N); \
		$(SIM) $(RECOMMEND) --trace $(BENCH)/cc-$$days.csv > $(BENCH)/recommend-$$days.txt 2>&1 || true; \
		echo "recommend on $$days days: $$(( ($$(date +%s%N) - start) / 1000000 )) ms"; \
	done

## The README's strategy comparison: a seeded contact-centre day, four strategies.
STRATEGIES := cdk.out/strategies
SIM := $(PY) -m deepgram_scaling.simulator.cli
strategies: $(DEPS)
	mkdir -p $(STRATEGIES)
	$(SIM) traces generate contact-centre --days 1 --seed 7 -o $(STRATEGIES)/contact-centre.csv
	$(SIM) strategies --trace $(STRATEGIES)/contact-centre.csv -o $(STRATEGIES)
	$(SIM) compare $(STRATEGIES)/Strategies.template.json --trace $(STRATEGIES)/contact-centre.csv \
		--plot deepgram_scaling/simulator/strategy-comparison.png

clean:
	rm -rf cdk.out .mypy_cache .ruff_cache .pytest_cache

## Checkov's CloudFormation scan of the example app (not part of `make test`). Checkov gets a
## virtual environment of its own: beside the dev dependencies it would downgrade boto3.
CHECKOV_VENV := .venv-checkov
.PHONY: checkov
$(CHECKOV_VENV)/bin/checkov:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check checkov
checkov: synth $(CHECKOV_VENV)/bin/checkov
	$(CHECKOV_VENV)/bin/checkov --directory cdk.out --framework cloudformation --compact --quiet \
		--skip-download

## Integration suite in the account of your AWS credentials (integ/; costs money, never part of
## `make test`): prints the estimated cost, asks, then integ-runner deploys, asserts and
## destroys. Needs DEEPGRAM_INTEG_IMAGE_URI and/or DEEPGRAM_INTEG_MODEL_PACKAGE_ARN;
## INTEG_YES=1 skips the question.
.PHONY: integ integ-snapshot integ-snapshot-update
integ: $(DEPS) $(CLI)
	$(PY) -m integ.cost
	@test -n "$${DEEPGRAM_INTEG_IMAGE_URI:-}$${DEEPGRAM_INTEG_MODEL_PACKAGE_ARN:-}" || \
		{ echo "error: set DEEPGRAM_INTEG_IMAGE_URI and/or DEEPGRAM_INTEG_MODEL_PACKAGE_ARN" >&2; exit 2; }
	@if [ "$${INTEG_YES:-}" != 1 ]; then \
		read -r -p "deploy both endpoints and pay for them? [y/N] " answer; \
		[ "$$answer" = y ] || { echo "nothing deployed"; exit 1; }; fi
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" node_modules/.bin/integ-runner --language python \
		--directory integ --force --no-update-workflow --verbose

## The integration suite synthesized and compared with integ/snapshots/ (also in `make test`).
integ-snapshot: $(DEPS)
	$(PY) -m pytest tests/test_integ.py

## Rewrite integ/snapshots/ after an intended change.
integ-snapshot-update: $(DEPS)
	DEEPGRAM_SCALING_UPDATE_INTEG_SNAPSHOTS=1 $(PY) -m pytest tests/test_integ.py

## Branch coverage of deepgram_scaling/ over the test suite, CLIs the tests start as
## subprocesses included ([tool.coverage] in pyproject.toml): one line per module, then the
## total. Not part of `make test`. COVERAGE_TESTS narrows the run (default: every test).
.PHONY: coverage
COVERAGE_TESTS ?=
coverage: $(DEPS) $(CLI)
	rm -f .coverage .coverage.*
	status=0; $(PY) -m coverage run -m pytest $(COVERAGE_TESTS) || status=$$?; \
		$(PY) -m coverage combine --quiet; \
		$(PY) -m coverage report --sort=cover; \
		exit $$status

## Mutation testing ([tool.mutmut] in pyproject.toml): prints, per module, the mutants
## killed out of those the tests reach (bench/mutation_score.py). Survivors: mutmut results.
## MUTANTS='<glob> ...' runs the matching mutants only. One child at a time: forked workers
## share the parent's jsii kernel process.
.PHONY: mutants
MUTANTS ?=
mutants: $(DEPS)
	rm -rf mutants
	$(PY) -m mutmut run --max-children 1 $(MUTANTS)
	$(PY) -m mutmut results --all true | $(PY) -m bench.mutation_score
