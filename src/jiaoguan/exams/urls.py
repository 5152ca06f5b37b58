app_name = "exams"
urlpatterns: list = [
    # public plans and allocation proof
    # learners (B22, B23)
    # driving schools
    # counter: centres, plans, results, learners, monitoring (X6)
]
