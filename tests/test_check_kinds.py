"""The checker reaches each layer kind through the registry's ``check`` table."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from symcnn.check.kinds import KindCheck, kind_check
from symcnn.layers import layer_types, table


def test_every_layer_type_has_a_check_entry():
    assert set(table("check")) == set(layer_types())
    assert all(isinstance(check, KindCheck) for check in table("check").values())


def test_a_kind_without_a_check_module_is_refused_by_name():
    with pytest.raises(ValueError, match="checking is not available for gelu: it is for avg"):
        kind_check(SimpleNamespace(type="gelu"))


def test_the_generic_entry_adds_nothing_to_entry_by_entry_checking():
    generic = KindCheck()
    assert generic.patterns == () and generic.fields is None and generic.routing is None
    assert not generic.upstream_terms
