#!/usr/bin/python3
"""Tests of the shapes-world renderer:  /usr/bin/python3 -m unittest models/shapes/test_shapes.py"""
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import shapes as S  # noqa: E402


class ShapesTest(unittest.TestCase):
    def test_sampling_is_deterministic(self):
        for seed in [0, 1, 12345, S.split_seed("test", 7)]:
            for aug in (False, True):
                a = S.sample_scene(seed, augment=aug)
                b = S.sample_scene(seed, augment=aug)
                self.assertEqual(a, b)
                self.assertTrue(np.array_equal(S.render(a), S.render(b)))
                self.assertTrue(np.array_equal(S.render_augmented(a, seed), S.render_augmented(b, seed)))

    def test_known_scene_pixels(self):
        scene = {"background": [0, 0, 0], "objects": [
            {"shape": "square", "color": "blue", "size": "large", "pos": "center"}]}
        img = S.render(scene)
        self.assertEqual(img.shape, (32, 32, 3))
        self.assertEqual(img.dtype, np.uint8)
        self.assertEqual(tuple(img[16, 16]), S.COLORS["blue"])
        self.assertEqual(tuple(img[0, 0]), (0, 0, 0))
        # large square: half side 0.9 * 6.5 = 5.85 px around (16, 16)
        self.assertEqual(tuple(img[11, 11]), S.COLORS["blue"])
        self.assertEqual(tuple(img[9, 9]), (0, 0, 0))

    def test_positions_and_shapes_differ(self):
        base = {"shape": "circle", "color": "red", "size": "small"}
        imgs = [S.render({"objects": [dict(base, pos=p)]}) for p in S.POSITIONS]
        for i, p in enumerate(S.POSITIONS):
            x, y = S.POS_XY[p]
            self.assertEqual(tuple(imgs[i][int(y), int(x)]), S.COLORS["red"], p)
        tri = S.render({"objects": [dict(base, shape="triangle", size="large", pos="center")]})
        sq = S.render({"objects": [dict(base, shape="square", size="large", pos="center")]})
        # triangle apex is up: the top corners are empty, the square's are not
        self.assertEqual(tuple(tri[11, 11]), (0, 0, 0))
        self.assertNotEqual(tuple(sq[11, 11]), (0, 0, 0))

    def test_captions(self):
        scene = {"objects": [{"shape": "circle", "color": "red", "size": "small", "pos": "top left"}]}
        self.assertEqual(S.caption(scene), "a small red circle at the top left")
        self.assertEqual(S.caption(scene, "short"), "a red circle")
        two = {"objects": [{"shape": "circle", "color": "red", "size": "small", "pos": "top left"},
                           {"shape": "square", "color": "blue", "size": "large", "pos": "bottom right"}]}
        self.assertEqual(S.caption(two), "a red circle and a blue square")
        centre = {"objects": [{"shape": "triangle", "color": "green", "size": "large", "pos": "center"}]}
        self.assertEqual(S.caption(centre), "a large green triangle in the center")

    def test_two_objects_do_not_overlap(self):
        for seed in range(300):
            sc = S.sample_scene(seed, n_objects=2)
            a, b = sc["objects"]
            self.assertNotEqual(a["pos"], b["pos"])
            self.assertLess((S.coverage(a) * S.coverage(b)).max(), 1e-6)
            self.assertLessEqual(S.POSITIONS.index(a["pos"]), S.POSITIONS.index(b["pos"]))

    def test_heldout_split(self):
        self.assertEqual(len(S.HELDOUT_COMBOS), 32)
        for seed in range(2000):
            self.assertFalse(S.is_heldout(S.sample_scene(seed, exclude_heldout=True)))
        for seed in range(50):
            self.assertTrue(S.is_heldout(S.sample_scene(seed, only_heldout=True)))

    def test_png_round_trip_and_cli(self):
        with tempfile.TemporaryDirectory() as d:
            img = S.render(S.sample_scene(3, augment=True))
            S.write_png(os.path.join(d, "x.png"), img)
            self.assertTrue(np.array_equal(S.read_png(os.path.join(d, "x.png")), img))
            subprocess.run([sys.executable, os.path.join(HERE, "shapes.py"), "--out", d, "--count", "3",
                            "--seed", "1"], check=True, stdout=subprocess.PIPE)
            lines = open(os.path.join(d, "captions.tsv")).read().splitlines()
            self.assertEqual(len(lines), 4)
            self.assertTrue(np.array_equal(S.read_png(os.path.join(d, "scene_0000.png")),
                                           S.render(S.sample_scene(1))))
            subprocess.run([sys.executable, os.path.join(HERE, "shapes.py"), "--out", d, "--count", "30",
                            "--seed", "7", "--sequence"], check=True, stdout=subprocess.PIPE)
            rows = [l.split("\t") for l in open(os.path.join(d, "frames.tsv")).read().splitlines()[1:]]
            self.assertEqual(len(rows), 30)
            self.assertEqual(rows[0][1], "1")
            for prev, cur in zip(rows, rows[1:]):       # content changes exactly where flagged
                self.assertEqual(cur[1] == "1", cur[2] != prev[2])

    def test_tokenizer(self):
        self.assertEqual(S.TOKEN_VOCAB[:2], ["[PAD]", "[UNK]"])
        ids = S.tokenize("A Blue square, what is in the image?")
        self.assertEqual([S.TOKEN_VOCAB[i] for i in ids],
                         ["a", "blue", "square", ",", "what", "is", "in", "the", "image", "?"])
        self.assertEqual(S.tokenize("a pink hexagon"), [S.TOKEN_IDS["a"], S.UNK_ID, S.UNK_ID])
        tj = S.tokenizer_json()
        self.assertEqual(tj["model"]["type"], "WordLevel")
        self.assertEqual(tj["model"]["vocab"]["[PAD]"], 0)


if __name__ == "__main__":
    unittest.main()
