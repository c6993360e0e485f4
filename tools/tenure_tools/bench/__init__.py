"""`make bench`: one JSON report in which every figure stands beside its ceiling, measured in the
same run on the same machine. One module per benchmark; `run` puts them together; `report`
writes the JSON and the table. docs/benchmarks/README.md says what each figure means."""
