"""EN 16931 e-invoices posted to ``POST /v1/invoices``: UBL 2.1 Invoice and CreditNote, UN/CEFACT
CII, Factur-X / ZUGFeRD 2 PDFs (every level from MINIMUM up).

- ``parse``: the body, by media type -> ``EInvoice`` (business terms + the original file);
- ``ubl``, ``cii``, ``facturx``, ``xml``: reading and XSD validation per syntax;
- ``terms``: the business terms recouvre reads and their XPaths per syntax;
- ``mapping``: ``EInvoice`` -> ``InvoiceIn``, or a ``CreditNote`` for the invoice it references;
- ``seller``: the seller (BT-30) must be the tenant;
- ``errors``: every refusal names the business term and its XPath.

Pure functions: nothing here reads the database or calls Temporal (the router does).
"""
