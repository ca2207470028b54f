from stdnum.it import iva

from tests import factories


def test_every_factory_builds_a_valid_row(db):
    receivable = factories.ReceivableFactory()
    assert receivable.customer.company == receivable.company
    assert receivable.amount == receivable.open_amount
    assert iva.is_valid(receivable.company.vat_number)
    assert iva.is_valid(receivable.customer.vat_number)
    receivable.company.full_clean()
    receivable.customer.full_clean()
    factories.ReceivableEventFactory(receivable=receivable)
    factories.IssuedInvoiceFactory(company=receivable.company)
    factories.ImportRunFactory(company=receivable.company)
    factories.MembershipFactory(company=receivable.company)
    factories.SalesAgentFactory(company=receivable.company)
    factories.CustomerCategoryFactory(company=receivable.company)
    factories.ColumnMappingFactory(company=receivable.company)


def test_fixtures(client_logged_in, user_with_membership, company):
    assert user_with_membership.memberships.get().company == company
    assert user_with_membership.check_password(factories.PASSWORD)
