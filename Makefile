# Two entry points: `make run` (set up and start the app) and `make test` (set up and run every test,
# including `studio test resources/examples`: tests/testing/test_studio_test_command.py).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench package clean check-qt-libs test-services

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

test: $(STAMP) test-services
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

# Queue mode's tests and benchmark need Debian's redis-server, and the PostgreSQL history's tests
# its postgresql (each test starts its own server in a temp folder). As root with apt-get, install
# what is missing; otherwise say how. Never fails: without them those tests skip, saying why.
test-services:
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing (queue-mode tests)"; \
	    { apt-get install -y -q $$missing >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $$missing >/dev/null 2>&1; }; } || \
	      echo "could not install$$missing: those queue-mode tests will skip"; \
	  else \
	    echo "not installed:$$missing; those queue-mode tests will skip (sudo apt-get install -y$$missing)"; \
	  fi; \
	fi

bench: $(STAMP) test-services
	QT_QPA_PLATFORM=offscreen $(PY) -m benchmarks

package: $(STAMP)
	$(PY) -m PyInstaller --noconfirm --distpath dist --workpath build packaging/flow-studio.spec

clean:
	rm -rf $(VENV) build dist .pytest_cache
