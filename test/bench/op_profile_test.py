"""Self-check of op_profile.py's pairing of tcpu steps with ORT nodes and of its reading
of `tcpu-run --profile` lines (ctest bench-op-profile; < 1 s, no model is run)."""
import os
import sys
import unittest

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import op_profile  # noqa: E402


def step(name, us, kind="fused"):
    return {"name": name, "kind": kind, "us": us}


def node(name, us, op="Conv"):
    return {"node": name, "op": op, "shape": [], "us": us}


class PairTest(unittest.TestCase):
    def test_prefix_then_folder_then_alone(self):
        steps = [step("/f.2/conv.0/Clip_output_0", 100), step("/f.3/Add_output_0", 50),
                 step("/f.3/conv.0/Clip_output_0", 40), step("y", 30, "gemm")]
        nodes = [node("/f.2/conv.0/Clip_output_0_nchwc", 80),
                 node("/f.2/conv.0/Clip_output_0_nchwc_reorder", 5, "ReorderInput"),
                 node("/f.3/conv.0/Clip_output_0_nchwc", 45),
                 node("/f.3/conv/conv.2/Conv_output_0_nchwc", 20),  # the fused conv + add
                 node("/classifier/Gemm", 25, "Gemm")]
        rows = {s["name"] if s else n[0]["node"]: [x["node"] for x in n] for s, n in op_profile.pair(steps, nodes)}
        self.assertEqual(rows["/f.2/conv.0/Clip_output_0"],
                         ["/f.2/conv.0/Clip_output_0_nchwc", "/f.2/conv.0/Clip_output_0_nchwc_reorder"])
        self.assertEqual(rows["/f.3/conv.0/Clip_output_0"], ["/f.3/conv.0/Clip_output_0_nchwc"])
        self.assertEqual(rows["/f.3/Add_output_0"], ["/f.3/conv/conv.2/Conv_output_0_nchwc"])
        self.assertEqual(rows["y"], [])
        self.assertEqual(rows["/classifier/Gemm"], ["/classifier/Gemm"])

    def test_folder_rule_needs_one_free_step(self):
        steps = [step("/b/x_output_0", 10), step("/b/y_output_0", 10)]
        rows = op_profile.pair(steps, [node("/b/conv/z_output_0", 5)])
        self.assertEqual([n["node"] for s, n in rows if s is None for n in n], ["/b/conv/z_output_0"])

    def test_render_sorts_by_loss(self):
        rows = op_profile.pair([step("/a", 300), step("/b", 100)], [node("/a_k", 100), node("/b_k", 150)])
        table = op_profile.render(rows, 0, 400, 250, 300)
        lines = [l for l in table.splitlines() if l.startswith("| /")]
        self.assertTrue(lines[0].startswith("| /a |") and lines[0].endswith("| +200 |"), lines[0])
        self.assertTrue(lines[1].endswith("| -50 |"), lines[1])
        self.assertIn("tcpu steps 0.400 ms, ORT nodes 0.250 ms", table)


class StepLineTest(unittest.TestCase):
    def test_reads_tcpu_run_profile_lines(self):
        m = op_profile.STEP.match("     0.4309    5.6%  fused %/features/features.2/Clip_output_0")
        self.assertEqual((m.group(1), m.group(2), m.group(3)), ("0.4309", "fused", "/features/features.2/Clip_output_0"))
        self.assertIsNone(op_profile.STEP.match("     6.1927   80.6%  fused (44)"))


if __name__ == "__main__":
    unittest.main()
