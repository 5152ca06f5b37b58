app_name = "plates"
urlpatterns: list = [
    # buyers (B19, P1-P5)
    # dealers (P2)
    # public draw log and seeds
    # counter: pools, registration, monitoring
]
