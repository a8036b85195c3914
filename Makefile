# Two entry points: `make run` (set up and start the app) and `make test` (set up and run every test,
# including `studio test resources/examples`: tests/testing/test_studio_test_command.py).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench package clean check-qt-libs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP) check-qt-libs
	$(VENV)/bin/studio

# Qt's xcb plugin needs system libraries a bare Debian lacks; say so plainly instead of crashing.
check-qt-libs: $(STAMP)
	@$(PY) -m studio.ui.syslibs

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m benchmarks

package: $(STAMP)
	$(PY) -m PyInstaller --noconfirm --distpath dist --workpath build packaging/flow-studio.spec

clean:
	rm -rf $(VENV) build dist .pytest_cache
