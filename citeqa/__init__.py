"""The front door: the `citeqa` command, which wires index, qa, ui, eval and the benchmark together."""
