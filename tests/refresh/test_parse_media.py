"""Media insights answers → MediaSample.metrics (insights.meta.parse.media_metrics)."""

from insights.meta import parse


def test_values_and_breakdowns_become_flat_keys_in_lower_case():
    body = {
        "data": [
            {"name": "reach", "period": "lifetime", "values": [{"value": 17}]},
            {"name": "replies", "period": "lifetime", "values": [{"value": 0}]},
            {
                "name": "navigation",
                "values": [{"value": 25}],
                "total_value": {
                    "value": 25,
                    "breakdowns": [
                        {
                            "dimension_keys": ["story_navigation_action_type"],
                            "results": [
                                {"dimension_values": ["TAP_FORWARD"], "value": 19},
                                {"dimension_values": ["tap_exit"], "value": 6},
                            ],
                        }
                    ],
                },
            },
            {"name": "reels_skip_rate", "values": [{"value": 12.5}]},
        ]
    }
    assert parse.media_metrics(body) == {
        "reach": 17,
        "replies": 0,  # a 0 Meta sent is a 0
        "navigation": 25,
        "navigation.tap_forward": 19,
        "navigation.tap_exit": 6,
        "reels_skip_rate": 12.5,
    }


def test_no_data_is_absent_never_zero():
    body = {
        "data": [
            {"name": "views", "values": []},
            {"name": "reach"},
            {"name": "shares", "values": [{"value": "n/a"}]},
            {"name": "follows", "total_value": {}},
        ]
    }
    assert parse.media_metrics(body) == {}
    assert parse.media_metrics({"data": []}) == {}
    assert parse.media_metrics("garbage") == {}
