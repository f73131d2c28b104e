"""`citeqa bench`: speed and memory of the product against its targets and a naive RAG baseline.

A development tool that runs from a source checkout (`make bench`); it is not installed with citeqa.
"""
