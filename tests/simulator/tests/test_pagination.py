"""Every pagination example of the API general guide (v1.8.0), with the correction from CLOUDTOWER_API.md."""

import pytest

N = 30


@pytest.fixture
def ids(api):
    api.reset(vms=N)
    listed = [vm["id"] for vm in api.vms()]
    assert len(listed) == N
    return listed


def _page(api, **args):
    return [vm["id"] for vm in api.call("get-vms", args)]


def test_first(api, ids):
    # "Get the first 3 records in the resource"
    assert _page(api, first=3) == ids[:3]


def test_first_and_skip(api, ids):
    # "Get the first 5 records after the 5th one, i.e., the 6th ~ 10th records"
    assert _page(api, skip=5, first=5) == ids[5:10]


def test_last(api, ids):
    # "Get the last 3 records in the resource"
    assert _page(api, last=3) == ids[-3:]


def test_last_and_skip(api, ids):
    # "Get the 7 records before the last but three record, i.e., the 4th ~ 10th before the last record"
    # = the 10th- to 4th-from-last records.
    assert _page(api, last=7, skip=3) == ids[N - 10:N - 3]


def test_after_first(api, ids):
    # "Get the first 3 records after the record with id of ..."
    assert _page(api, after=ids[4], first=3) == ids[5:8]


def test_after_skip_first(api, ids):
    # "Get the first 5 records after the 3rd record after the record with id of ..."
    assert _page(api, first=5, after=ids[4], skip=3) == ids[8:13]


def test_before_last(api, ids):
    # "Get the first 5 records before the record with id of ..."
    assert _page(api, last=5, before=ids[20]) == ids[15:20]


def test_before_skip_last_with_correction(api, ids):
    # The guide says "the 6th ~ 9th records from the record with that id"; it is the 6th to 8th before it:
    # with ids L[0..], {last: 3, before: L[9], skip: 5} is L[1..3].
    assert _page(api, last=3, before=ids[9], skip=5) == ids[1:4]


def test_after_and_before_alone(api, ids):
    assert _page(api, after=ids[N - 3]) == ids[N - 2:]
    assert _page(api, before=ids[2]) == ids[:2]
    assert _page(api, after=ids[3], before=ids[7]) == ids[4:7]


def test_cursor_follows_query_order_and_need_not_match_filter(api, ids):
    descending = [vm["id"] for vm in api.call("get-vms", {"orderBy": "name_DESC"})]
    assert _page(api, orderBy="name_DESC", after=descending[3], first=2) == descending[4:6]
    running = [vm["id"] for vm in api.vms({"status": "RUNNING"})]
    stopped = [vm_id for vm_id in ids if vm_id not in running]
    cursor = stopped[len(stopped) // 2]
    expected = [vm_id for vm_id in running if ids.index(vm_id) > ids.index(cursor)]
    assert _page(api, where={"status": "RUNNING"}, after=cursor) == expected


def test_unknown_cursor_and_overlong_windows(api, ids):
    assert _page(api, after="cxxxxxxxxxxxxxxxxxxxxxxxx", first=3) == []
    assert _page(api, skip=N + 5) == []
    assert _page(api, last=N + 5, skip=N + 1) == []
    assert _page(api, first=0) == []
    assert _page(api, last=N * 2) == ids


def test_connection_count_counts_the_page(api, ids):
    assert api.call("get-vms-connection", {"first": 5, "skip": 2}) == {"aggregate": {"count": 5}}
    assert api.call("get-vms-connection", {"after": ids[N - 3]}) == {"aggregate": {"count": 2}}
    assert api.call("get-vms-connection", {}) == {"aggregate": {"count": len(ids)}}
