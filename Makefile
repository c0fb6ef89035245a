# The README's two commands: `make demo` shows the product offline, `make test` passes the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locales/*/LC_MESSAGES/messages.po))

.PHONY: install test lint run demo console-demo bench translations extract update-catalogs clean

install: $(STAMP) translations

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

translations: $(STAMP) $(MO_FILES)

locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po
	$(BIN)/pybabel compile --statistics -i $< -o $@

extract: $(STAMP)
	$(BIN)/pybabel extract -F locales/babel.cfg -k N_ --no-location --omit-header \
		--sort-output -o locales/messages.pot bot handlers

update-catalogs: extract
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching --ignore-obsolete --width 110

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check bot handlers models tests alembic bench
	$(BIN)/ruff format --check bot handlers models tests alembic bench
	$(BIN)/mypy
	$(BIN)/lint-imports

run: install
	$(BIN)/followup db upgrade
	$(BIN)/followup run

bench: install
	$(BIN)/python -m bench

demo: install
	$(BIN)/followup demo

# A shorter demo (20 patients, six months), then the study console on its data until Ctrl-C.
console-demo: install
	$(BIN)/followup demo --patients 20 --days 180 --serve --port $(or $(PORT),8080)

clean:
	rm -rf $(VENV) locales/*/LC_MESSAGES/*.mo
