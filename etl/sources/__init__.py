"""Where the data comes from: one module or folder per source, with its reader (a file in, a
canonical frame out, registered in etl/pipeline/formats.py), its settings and, for the APIs,
its pull (etl/sources/zendesk/pull.py, etl/sources/delighted/pull.py). The machinery the
pulls share (HTTP, the raw pages kept, the pull run, erasing pulled pages) is
etl/sources/pull/."""
