# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# Test workers (pytest-xdist, docs/tests.md); TEST_WORKERS=0 runs the suite in this one process.
TEST_WORKERS ?= 2

.PHONY: demo test bench lint venv system-deps clean screens translations translations-extract translations-update translations-compile

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	bash scripts/system-deps.sh

PORT ?= 8080
demo: $(STAMP)
	$(VENV)/bin/gatekeeper demo --dir demo-data --port $(PORT)

test: $(STAMP) system-deps
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) $(PYTEST_ARGS)

bench: $(STAMP) system-deps
	@failed=""; for b in bench/*.py; do echo "== $$b"; $(PY) $$b || failed="$$failed $$b"; done; \
	if [ -n "$$failed" ]; then echo "bench: failed:$$failed"; exit 1; fi

lint: $(STAMP)
	$(VENV)/bin/ruff check gatekeeper tests bench
	$(VENV)/bin/mypy gatekeeper

# Catalogues (SPEC §12): extract the strings, merge them into en/nl/de, check they compile. The .po
# files are the source (committed); the service compiles them in memory, so no .mo is committed.
TRANSLATIONS := gatekeeper/web/translations
BABEL_KEYWORDS := -k _l -k N_ -k translate:2 -k translate_n:2,3
translations: translations-update translations-compile

translations-extract: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --no-location --sort-output \
		--project=gatekeeper --copyright-holder="Gatekeeper contributors" -o $(TRANSLATIONS)/messages.pot .

translations-update: translations-extract
	for lang in en nl de; do \
		if [ -f $(TRANSLATIONS)/$$lang/LC_MESSAGES/messages.po ]; then \
			$(VENV)/bin/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l $$lang --no-wrap --ignore-obsolete; \
		else $(VENV)/bin/pybabel init -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l $$lang --no-wrap; fi; \
	done

translations-compile: $(STAMP)
	$(VENV)/bin/pybabel compile --statistics -d $(TRANSLATIONS) -o /dev/null -l en -i $(TRANSLATIONS)/en/LC_MESSAGES/messages.po
	$(VENV)/bin/pybabel compile --statistics -d $(TRANSLATIONS) -o /dev/null -l nl -i $(TRANSLATIONS)/nl/LC_MESSAGES/messages.po
	$(VENV)/bin/pybabel compile --statistics -d $(TRANSLATIONS) -o /dev/null -l de -i $(TRANSLATIONS)/de/LC_MESSAGES/messages.po

# The README's screenshots (docs/screens/*.png), from the demo data at 390 and 1280 px.
screens: $(STAMP)
	$(PY) -m pip install -q pillow
	$(PY) scripts/screens.py

clean:
	rm -rf $(VENV) demo-data var .pytest_cache
