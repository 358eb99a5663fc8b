# lit configuration for tcpu: FileCheck tests of tcpu-opt and tcpu-run.
import os
import lit.formats

config.name = "tcpu"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".tir", ".test"]
config.excludes = ["Inputs", "cases", "models", "interp", "CMakeLists.txt", "lit.cfg.py",
                   "lit.site.cfg.py", "unit"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.tcpu_obj_root, "test")

config.substitutions.append(("%python", config.python))
config.substitutions.append(("%srcroot", config.tcpu_src_root))
config.substitutions.append(("%{tools}", config.tcpu_tools_dir))
config.environment["PATH"] = os.pathsep.join(
    [config.tcpu_tools_dir, os.path.dirname(config.filecheck),
     config.environment.get("PATH", "")])
for var in ["ASAN_OPTIONS", "UBSAN_OPTIONS", "HOME"]:
    if var in os.environ:
        config.environment[var] = os.environ[var]
config.substitutions.append(("FileCheck", config.filecheck))
