"""The accounting core: every rule of the ledger lives here.

It imports no Starlette and no Strawberry; the GraphQL resolvers and the REST
shims only translate to and from it.
"""
