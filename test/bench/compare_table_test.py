"""Self-check of compare_table.py on canned JSON lines (ctest bench-compare-table; < 1 s).

The figures are made up so that every number in the table can be worked out by hand.
"""
import json
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_table  # noqa: E402

F = 2e9  # FLOPs of every canned workload: 2 GFLOP, so 10 ms = 200 GFLOP/s

LINES = [
    {"meta": {"runs": 2, "cpu": "Test CPU with avx512f"}},
    {"bench": "peak_fp32_fma", "threads": 1, "gflops_median": 90.0, "gflops_best": 100.0, "source": "peak.cpp AVX2 FMA, best repetition"},
    {"bench": "peak_fp32_fma", "threads": 2, "gflops_median": 150.0, "gflops_best": 200.0, "source": "peak.cpp AVX2 FMA, best repetition"},
    {"bench": "peak_fp32_fma", "threads": 2, "gflops_best": 180.0, "source": "peak.cpp AVX2 FMA, best repetition"},
    {"bench": "triad_bw", "threads": 1, "gbs_median": 6.0},
    # matmul_1024, 1 thread, two runs: tcpu medians 30 and 50 (-> 40), ORT 50/50, eager 60, jit 45/55 (-> 50).
    {"peer": "tcpu", "workload": "matmul_1024", "threads": 1, "run": 1, "median_ms": 30.0, "min_ms": 29.0,
     "flops": F, "compile_ms": 1000.0, "fallback_ops": []},
    {"peer": "tcpu", "workload": "matmul_1024", "threads": 1, "run": 2, "median_ms": 50.0, "min_ms": 28.0,
     "flops": F, "compile_ms": 3000.0, "fallback_ops": []},
    {"peer": "ort-node-1.30.0", "workload": "matmul_1024", "threads": 1, "run": 1, "median_ms": 50.0, "min_ms": 1,
     "flops": F},
    {"peer": "ort-node-1.30.0", "workload": "matmul_1024", "threads": 1, "run": 2, "median_ms": 50.0, "min_ms": 1,
     "flops": F},
    {"peer": "torch-eager", "workload": "matmul_1024", "threads": 1, "run": 1, "median_ms": 60.0, "min_ms": 1,
     "flops": F},
    {"peer": "torch-jit-frozen", "workload": "matmul_1024", "threads": 1, "run": 1, "median_ms": 45.0, "min_ms": 1,
     "flops": F},
    {"peer": "torch-jit-frozen", "workload": "matmul_1024", "threads": 1, "run": 2, "median_ms": 55.0, "min_ms": 1,
     "flops": F},
    # matmul_1024, 2 threads: tcpu 25 with a fallback op; eager's passive variant (16) beats its default (40)
    # and is the best peer; ORT failed; jit not run.
    {"peer": "tcpu", "workload": "matmul_1024", "threads": 2, "run": 1, "median_ms": 25.0, "min_ms": 24.0,
     "flops": F, "compile_ms": 2000.0, "fallback_ops": ["matmul %mm", "relu %r"]},
    {"peer": "torch-eager", "workload": "matmul_1024", "threads": 2, "run": 1, "median_ms": 40.0, "min_ms": 1,
     "flops": F},
    {"peer": "torch-eager+omp-passive", "workload": "matmul_1024", "threads": 2, "run": 1, "median_ms": 16.0,
     "min_ms": 1, "flops": F},
    {"peer": "ort-node", "workload": "matmul_1024", "threads": 2, "run": 1, "error": "Error: bad | model\nsecond line"},
    # conv7x7s2_b8, 1 thread: tcpu 8 vs ORT 10 -> 0.80, under the peer but above the conv target 0.75.
    {"peer": "tcpu", "workload": "conv7x7s2_b8", "threads": 1, "run": 1, "median_ms": 8.0, "min_ms": 8.0,
     "flops": F, "compile_ms": 500.0, "fallback_ops": []},
    {"peer": "ort-node-1.30.0", "workload": "conv7x7s2_b8", "threads": 1, "run": 1, "median_ms": 10.0, "min_ms": 9,
     "flops": F},
    # resnet18_b1: tcpu fails at 1 thread; the other rows are absent.
    {"peer": "tcpu", "workload": "resnet18_b1", "threads": 1, "run": 1,
     "error": "model.onnx: error: conv %x: unsupported\nmore detail"},
    {"peer": "ort-node-1.30.0", "workload": "resnet18_b1", "threads": 1, "run": 1, "median_ms": 20.0, "min_ms": 1,
     "flops": F},
    {"missing": "torch-jit", "why": "import torch failed: No module named torch"},
    # Rows the comparison ignores: int8 and training peers, and a workload outside the list goes last.
    {"peer": "torch-eager-qint8-onednn", "workload": "mlp_qint8_b1", "threads": 1, "median_ms": 1.0, "min_ms": 1},
]


def rows_by_key(table):
    """{(workload, threads): [cells]} of the markdown table's data rows."""
    rows = {}
    for line in table.splitlines():
        if line.startswith("| ") and not line.startswith("| workload") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows[(cells[0], cells[1])] = cells
    return rows


class CompareTableTest(unittest.TestCase):
    def setUp(self):
        self.table = compare_table.render(LINES, threads=[1, 2])
        self.rows = rows_by_key(self.table)

    def test_medians_ratio_and_peak_share(self):
        r = self.rows[("matmul_1024", "1")]
        # tcpu median of (30, 50) = 40 ms -> 50 GFLOP/s = 50% of the 1-thread peak 100.
        self.assertEqual(r[2], "40 (50%)")
        self.assertEqual(r[3], "2.00")  # compile: median of 1000 and 3000 ms
        self.assertEqual(r[4], "0")
        self.assertEqual(r[5], "50 (40%)")  # ORT
        self.assertEqual(r[6], "60 (33%)")  # eager
        # jit: median of (45, 55); a timing wins over the "missing" record.
        self.assertEqual(r[7], "50 (40%)")
        self.assertEqual(r[8], "0.80 vs ORT")  # ties go to the first column
        self.assertEqual(r[9], "<= 1: met")

    def test_passive_variant_and_error_cell(self):
        r = self.rows[("matmul_1024", "2")]
        # Peak at 2 threads is the best of 200 and 180. tcpu 25 ms = 80 GFLOP/s = 40%.
        self.assertEqual(r[2], "25 (40%)")
        self.assertEqual(r[4], "2")
        self.assertEqual(r[5], "error: Error: bad \\| model")  # first line only, pipe escaped
        self.assertEqual(r[6], "16 (62%) p")
        self.assertEqual(r[8], "1.56 vs eager")
        self.assertEqual(r[9], "<= 1: NOT met")

    def test_conv_target(self):
        r = self.rows[("conv7x7s2_b8", "1")]
        self.assertEqual(r[8], "0.80 vs ORT")
        self.assertEqual(r[9], "<= 0.75: NOT met")

    def test_tcpu_error(self):
        r = self.rows[("resnet18_b1", "1")]
        self.assertEqual(r[2], "error: model.onnx: error: conv %x: unsupported")
        self.assertEqual(r[8], "—")
        self.assertEqual(self.rows[("resnet18_b1", "2")][2], "—")  # not run
        self.assertEqual(r[7], "missing")  # no jit timing and the peer is missing

    def test_order_and_filtering(self):
        keys = list(self.rows)
        self.assertEqual([k[0] for k in keys[::2]], ["matmul_1024", "conv7x7s2_b8", "resnet18_b1"])
        self.assertNotIn("mlp_qint8_b1", self.table)

    def test_notes(self):
        self.assertIn("peak fp32 (peak.cpp AVX2 FMA, best repetition): 1 thread 100.0 GFLOP/s, "
                      "2 threads 200.0 GFLOP/s", self.table)
        self.assertIn("this CPU has AVX-512", self.table)
        self.assertIn("peer missing: PyTorch jit.freeze: import torch failed", self.table)
        self.assertIn("fallback ops (run on the interpreter) in matmul_1024: matmul x1, relu x1", self.table)
        self.assertIn("tcpu slower than the best peer (ratio > 1): matmul_1024@2 1.56", self.table)
        self.assertIn("tcpu at or under the best peer: matmul_1024@1 0.80, conv7x7s2_b8@1 0.80", self.table)
        self.assertIn("error: tcpu resnet18_b1 threads=1: model.onnx: error: conv %x: unsupported", self.table)
        self.assertNotIn("more detail", self.table)

    def test_cli_reads_jsonl(self):
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write("not json\n" + "\n".join(json.dumps(r) for r in LINES) + "\n{broken\n")
        try:
            self.assertEqual(compare_table.render(compare_table.read_records([f.name]), threads=[1, 2]), self.table)
        finally:
            os.unlink(f.name)


if __name__ == "__main__":
    unittest.main()
