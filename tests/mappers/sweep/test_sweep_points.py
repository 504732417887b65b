import numpy as np

from mappers.sweep.points import chunk_ranges, count_points, point_blocks, points_frame
from mappers.sweep.spec import sweep_from_text

SPEC = """\
version: 1
base: {arch: a.yaml}
configs: {fast: {mapping: f.yaml}, slow: {mapping: s.yaml}}
axes:
  seq: [1K, 4K]
  workload: [BERT, XLM]
  pe2d.shape: [[16, 16], [32, 32]]
  l3_bytes: [1MiB, 2MiB]
zip: [[pe2d.shape, l3_bytes]]
chunk_points: 5
"""


def test_count_points_multiplies_dimensions_with_zip_as_one():
    # config 2 x workload 2 x seq 2 x (pe2d.shape zipped with l3_bytes) 2 = 16
    assert count_points(sweep_from_text(SPEC)) == 16


def test_points_are_ordered_text_outermost_and_ids_are_positions():
    frame = points_frame(sweep_from_text(SPEC))
    assert frame["point_id"].tolist() == list(range(16))
    assert frame["config"].tolist()[:8] == ["fast"] * 8
    assert frame["workload"].tolist()[:4] == ["BERT"] * 4
    # the zipped pair varies fastest, together
    assert frame["pe2d.shape"].tolist()[:2] == ["16x16", "32x32"]
    assert frame["l3_bytes"].tolist()[:2] == [2**20, 2**21]
    assert frame["pe2d.shape[0]"].tolist()[:2] == [16, 32]


def test_chunk_ranges_cover_all_points():
    assert chunk_ranges(sweep_from_text(SPEC)) == [(0, 5), (5, 10), (10, 15), (15, 16)]


def test_point_blocks_split_a_chunk_where_settings_change():
    spec = sweep_from_text(SPEC)
    blocks = list(point_blocks(spec, 2, 7))
    # ids 2,3 are (fast, BERT); 4,5,6 are (fast, XLM)
    assert [b.point_ids.tolist() for b in blocks] == [[2, 3], [4, 5, 6]]
    settings = dict(blocks[1].group.settings)
    assert settings == {"arch": "a.yaml", "config": "fast", "mapping": "f.yaml", "workload": "XLM"}
    np.testing.assert_array_equal(blocks[1].columns["pe2d.shape"], [[16, 16], [32, 32], [16, 16]])
    np.testing.assert_array_equal(blocks[1].columns["seq"], [1024, 1024, 4096])
