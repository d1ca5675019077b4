# cobranca: PGXS build.
#
# The version lives in one place, cobranca.control.  The install script
# cobranca--$(EXTVERSION).sql is assembled from src/sql/*.sql in file-name
# order.  Each upgrade script cobranca--A--B.sql is assembled the same way
# from updates/A--B/*.sql.  Install scripts of earlier releases are kept, as
# released, in releases/ (so that an upgrade from them can be tested).

EXTENSION   = cobranca
EXTVERSION  = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" cobranca.control)

MODULE_big  = cobranca
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

SQL_PARTS   = $(sort $(wildcard src/sql/*.sql))
UPDATES     = $(patsubst updates/%/,cobranca--%.sql,$(sort $(wildcard updates/*--*/)))
DATA_built  = cobranca--$(EXTVERSION).sql $(UPDATES)
DATA        = $(sort $(wildcard releases/cobranca--*.sql))

# pg_regress output tests: sql/NAME.sql against expected/NAME.out.
REGRESS     = $(basename $(notdir $(sort $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=cobranca

# pg_isolation_regress tests: test/isolation/specs/NAME.spec.
ISOLATION   = $(basename $(notdir $(sort $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=cobranca

PG_CPPFLAGS = -I$(srcdir)/src
# Warnings are errors by default; WERROR= builds without -Werror (e.g. on
# a newer compiler whose new warnings this release does not know yet).
WERROR     ?= -Werror
PG_CFLAGS   = -std=gnu99 -Wall -Wextra $(WERROR) -Wno-unused-parameter \
              -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK += -lcrypto

EXTRA_CLEAN = results regression.diffs regression.out output_iso \
              test/isolation/results test/isolation/output_iso

PG_CONFIG  ?= pg_config
PGXS       := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

cobranca--$(EXTVERSION).sql: $(SQL_PARTS) cobranca.control
	@{ echo '-- cobranca $(EXTVERSION): generated from src/sql/*.sql by make; do not edit.'; \
	   printf '%s\n' '\echo Use "CREATE EXTENSION cobranca" to load this file. \quit'; \
	   for f in $(SQL_PARTS); do echo; echo "-- ==== $$f"; cat "$$f"; done; } > $@

.SECONDEXPANSION:
$(UPDATES): cobranca--%.sql: $$(sort $$(wildcard updates/%/*.sql)) cobranca.control
	@{ echo '-- cobranca $*: generated from updates/$*/*.sql by make; do not edit.'; \
	   printf '%s\n' '\echo Use "ALTER EXTENSION cobranca UPDATE" to load this file. \quit'; \
	   for f in $(filter updates/%,$^); do echo; echo "-- ==== $$f"; cat "$$f"; done; } > $@

.PHONY: test demo
test:
	bash test/run

demo:
	bash demo/run
