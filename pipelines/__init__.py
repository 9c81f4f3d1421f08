"""Policy-task notices from ``raw/`` to published tables.

Before anything imports Polars: Polars sets its allocator (jemalloc) to hand
freed pages back to the kernel after half a second, so the next table built in
the process faults them in again, zeroed. A build that adds one notice to a
thousand encodes and compares hundreds of MB of tables: with pages kept for
30 s it took half the page faults and ~0.4 s less system time. Polars appends
``_RJEM_MALLOC_CONF`` to its own setting (the later value wins); a value the
user set is left as it is.
"""

import os
import sys

if "polars" not in sys.modules:
    os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:30000,muzzy_decay_ms:30000")
