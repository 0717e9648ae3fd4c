# The two commands of the README: `make run` and `make test`. Both set up .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test venv schemas clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q src
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/productkit build . --out build
	@$(BIN)/python -c "import json; m = json.load(open('build/manifest.json')); print(f\"catalogue built: {len(m['products'])} product version(s), release date {m['release_date']}, digest {m['digest'][:19]}\")"
	@test -d tools/forms/node_modules || (cd tools/forms && npm ci --no-audit --no-fund --silent) || echo "npm ci failed in tools/forms: the site's form previews stay empty"
	$(BIN)/productkit docs build --out site

test: $(STAMP)
	$(BIN)/python -m pytest
	$(BIN)/ruff check src tests
	$(BIN)/mypy src

schemas: $(STAMP)
	$(BIN)/productkit schema --out schemas

clean:
	rm -rf $(VENV) build site .mypy_cache .ruff_cache .pytest_cache

# The scale benchmark: generates a 1,000-product catalogue into .bench/ and times validate, builds
# (cold, no-change, one product, one component), start-up, memory, scaling and the runtime engines.
.PHONY: bench
# The working tree's bytecode is compiled first, as pip compiles an installed package's: every
# measured process would otherwise compile the modules edited since (or, in a fresh clone where
# PYTHONDONTWRITEBYTECODE is set, all of them) again, timing CPython's compiler, not productkit.
bench: $(STAMP)
	$(BIN)/python -m compileall -q src bench
	$(BIN)/python -m bench.run --out .bench
