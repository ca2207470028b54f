"""Incassa's benchmarks: ``make bench`` (``python -m benchmarks``) runs them.

Each benchmark is a module with ``NAME``, ``TITLE`` and ``run(options) -> Section``,
registered in ``benchmarks.__main__.BENCHMARKS``; the results are written to
``docs/benchmarks.md``, one section per benchmark. Benchmarks are not tests: nothing under
``tests/`` asserts a timing.
"""
