# The README's two commands: `make run` and `make test`. Both set everything up first
# (a project-local virtual environment, npm packages, the labextension build) and redo
# only what changed since the last time.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := $(CURDIR)/.venv
STAMPS := .stamps
export PATH := $(VENV)/bin:$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
export JUPYTER_PLATFORM_DIRS := 1
CHROMIUM := /usr/bin/chromium
PORT ?= 8888
# Optional extras of the package installed for the demo and the UI tests (torch: the demo's
# training cell; on this machine kind, pip takes a local CPU build; widget: the %%carbon live widget).
# `DEMO_EXTRAS=` skips them.
DEMO_EXTRAS ?= torch,widget

comma := ,
TS_SOURCES := $(shell find src style schema -type f 2>/dev/null) package.json tsconfig.json
PY_PROJECT := server-ext/pyproject.toml

.PHONY: run test setup test-setup pytest jest ui-test clean debian-packages

# The setup's independent steps (pip, the two npm installs, Debian's packages) run side by side.
SETUP_MAKE := $(MAKE) --no-print-directory --jobs=4 --output-sync=target

run:
	$(SETUP_MAKE) setup
	@echo "Starting JupyterLab with jupyterlab-carbon on examples/ (Ctrl+C to stop)."
	# The file argument is resolved against the current directory, not root_dir.
	jupyter lab --ServerApp.root_dir=$(CURDIR)/examples --ServerApp.port=$(PORT) $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) $(CURDIR)/examples/demo.ipynb

test:
	$(SETUP_MAKE) test-setup
	bash .ci/run-tests

setup: $(STAMPS)/installed

test-setup: setup $(STAMPS)/test-deps $(STAMPS)/ui-npm debian-packages

$(STAMPS):
	mkdir -p $@

$(STAMPS)/venv: $(PY_PROJECT) | $(STAMPS)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q "jupyterlab==4.6.4" "hatchling>=1.5" "hatch-jupyter-builder>=0.9" "hatch-nodejs-version>=0.3.2" editables
	touch $@

$(STAMPS)/npm: package.json package-lock.json | $(STAMPS)
	npm ci --no-audit --no-fund
	touch $@

$(STAMPS)/labextension: $(STAMPS)/npm $(STAMPS)/venv $(TS_SOURCES)
	npm run build
	touch $@

# `labextension develop` links the installed labextension to the build folder, so the next
# editable install writes its install.json into that folder, and the one after would add it
# twice to the wheel: remove it before each install.
STRAY_INSTALL_JSON := server-ext/jupyterlab_carbon/labextension/install.json

$(STAMPS)/installed: $(STAMPS)/venv $(STAMPS)/labextension $(PY_PROJECT) Makefile
	rm -f $(STRAY_INSTALL_JSON)
	$(VENV)/bin/pip install -q --no-build-isolation -e "./server-ext$(if $(DEMO_EXTRAS),[$(DEMO_EXTRAS)])"
	jupyter labextension develop --overwrite ./server-ext >/dev/null
	jupyter server extension enable --sys-prefix jupyterlab_carbon >/dev/null
	touch $@

$(STAMPS)/test-deps: $(STAMPS)/installed $(PY_PROJECT) Makefile
	rm -f $(STRAY_INSTALL_JSON)
	$(VENV)/bin/pip install -q --no-build-isolation -e "./server-ext[test$(if $(DEMO_EXTRAS),$(comma)$(DEMO_EXTRAS))]"
	touch $@

$(STAMPS)/ui-npm: ui-tests/package.json ui-tests/package-lock.json | $(STAMPS)
	cd ui-tests && npm ci --no-audit --no-fund
	touch $@

# The UI tests run in Debian's chromium; the ledger tests start a throwaway PostgreSQL server in a
# temporary directory (server-ext/tests/postgres.py), the metrics test a Prometheus server on
# loopback with a temporary configuration (server-ext/tests/prometheus.py). Whichever is missing is
# installed, in one apt-get run (two at once would fight over dpkg's lock).
debian-packages:
	@missing=(); \
	[ -x $(CHROMIUM) ] || missing+=(chromium); \
	command -v initdb >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql); \
	command -v prometheus >/dev/null || missing+=(prometheus); \
	if [ $${#missing[@]} = 0 ]; then exit 0; fi; \
	echo "Installing Debian's $${missing[*]} for the tests."; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else \
	  echo "Missing $${missing[*]}; installing needs root: run 'sudo apt-get install -y $${missing[*]}'." >&2; exit 1; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq "$${missing[@]}" >/dev/null

clean:
	rm -rf $(STAMPS) $(VENV) node_modules lib tsconfig.tsbuildinfo server-ext/jupyterlab_carbon/labextension ui-tests/node_modules
