# Regenerates the .npy fixtures of NpyTest.cpp: /usr/bin/python3 gen.py
# (run in this directory). The expected values in NpyTest.cpp are the
# literals below.
import numpy as np
from numpy.lib import format as fmt

def save(name, a, version=None):
    with open(name, "wb") as f:
        if version is None:
            np.save(f, a)
        else:
            fmt.write_array(f, a, version=version)

save("f32_2x3.npy", np.array([[-1.0, -0.5, 0.0], [0.5, 1.0, 1.5]], dtype="<f4"))
save("f16_4.npy", np.array([1.5, -2.0, 65504.0, 0.25], dtype="<f2"))
save("i8_2x2.npy", np.array([[-128, -1], [0, 127]], dtype="i1"))
save("u8_3.npy", np.array([0, 128, 255], dtype="u1"))
save("i32_2x1x2.npy", np.array([[[-2147483648, -1]], [[0, 2147483647]]], dtype="<i4"))
save("i64_2.npy", np.array([-9223372036854775808, 9223372036854775807], dtype="<i8"))
save("bool_5.npy", np.array([True, False, True, True, False]))
save("f32_scalar.npy", np.array(3.25, dtype="<f4"))
save("f32_0x3.npy", np.zeros((0, 3), dtype="<f4"))
save("i32_v2.npy", np.array([1, 2, 3], dtype="<i4"), version=(2, 0))
save("i32_v3.npy", np.array([4, 5, 6], dtype="<i4"), version=(3, 0))
# Files that must be refused.
save("f64_2.npy", np.array([1.0, 2.0], dtype="<f8"))
save("f32_big_endian.npy", np.array([1.0, 2.0], dtype=">f4"))
save("f32_fortran.npy", np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))
