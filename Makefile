# The README's two commands: `make demo` shows the product offline, `make test` passes the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locales/*/LC_MESSAGES/messages.po))

.PHONY: install test lint run demo bench translations extract update-catalogs clean

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
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching --width 110

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check bot handlers models tests alembic bench
	$(BIN)/ruff format --check bot handlers models tests alembic bench
	$(BIN)/mypy

run: install
	$(BIN)/followup db upgrade
	$(BIN)/followup run

bench: install
	$(BIN)/python -m bench

# Until the simulated study (issue 7) lands, the demo walks the coordinator's CLI on a throw-away database.
demo: install
	@set -e; dir=$$(mktemp -d); \
	export FOLLOWUP_DATABASE_URL="sqlite:///$$dir/demo.db" FOLLOWUP_BOT_USERNAME=sle_followup_demo_bot; \
	run() { printf '\n$$ followup %s\n' "$$*"; $(BIN)/followup "$$@"; }; \
	run db upgrade; \
	run sites add PKU --name "Peking University People's Hospital" --timezone Asia/Shanghai --phone "+86 10 8832 5555"; \
	run sites add BER --name "Charité Berlin" --timezone Europe/Berlin; \
	run staff add --site PKU --role clinician --name "Dr Li"; \
	run patients enroll --site PKU --group il2 --study-id PKU-001 --qr "$$dir/PKU-001.png"; \
	run patients enroll --site BER --group control --study-id BER-001 --language en --reminder-time 18:30; \
	printf 'study_id,site,group,enrolled_on\nPKU-002,PKU,il2,2026-02-30\n' > "$$dir/bad.csv"; \
	run patients import "$$dir/bad.csv" || true; \
	run patients show PKU-001; \
	run patients shift-doses PKU-001 --days 2; \
	run patients list; \
	printf '\nDatabase, QR code and CSV are in %s\n' "$$dir"

clean:
	rm -rf $(VENV) locales/*/LC_MESSAGES/*.mo
