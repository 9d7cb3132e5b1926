"""Topic settings that need no broker (the cluster tests check them on a real one)."""

from shared.topics import min_insync_replicas


def test_min_insync_replicas_is_a_majority_from_three_replicas():
    # acks=all then needs a majority: one broker of three may be down without refusing
    # writes, and an acknowledged event is on two of them.
    assert [min_insync_replicas(rf) for rf in (1, 2, 3, 4, 5)] == [1, 1, 2, 3, 3]
