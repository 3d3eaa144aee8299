"""Names for Meta's audience keys. Meta gives countries as ISO 3166-1 alpha-2 codes ("DE") and
cities as it spells them ("Berlin, Berlin"); a client's report shows country names."""

from __future__ import annotations

from functools import cache

import pycountry

# Where ISO's formal name is not what a reader expects, or Meta uses a code ISO has not assigned.
COUNTRY_NAMES = {
    "RU": "Russia",
    "CD": "DR Congo",
    "CG": "Congo",
    "PS": "Palestine",
    "XK": "Kosovo",
    "MK": "North Macedonia",
    "FM": "Micronesia",
    "VA": "Vatican City",
}
GENDER = {"F": "Women", "M": "Men", "U": "Not specified"}


@cache
def country_name(code: str) -> str:
    """The country's common English name; an unknown code is shown as Meta gave it."""
    code = code.strip().upper()
    if code in COUNTRY_NAMES:
        return COUNTRY_NAMES[code]
    country = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name


def demographic_label(breakdown: str, key: str) -> str:
    """What the report shows for one of Meta's demographic buckets."""
    if breakdown == "country":
        return country_name(key)
    if breakdown == "gender":
        return GENDER.get(key, key)
    return key  # age ranges and cities as Meta spells them
