from django.urls import path

from . import feeds, views

app_name = "announcements"
urlpatterns = [
    # public: announcements and publications (N3)
    path("notices/", views.notices, name="notices"),
    path("notices/feed.rss", feeds.NoticesRss(), name="feed_rss"),
    path("notices/feed.atom", feeds.NoticesAtom(), name="feed_atom"),
    path("notices/publications/", views.publications, name="publications"),
    path("notices/publications/<str:code>/", views.publication, name="publication"),
    path("notices/publications/<str:code>.csv", views.publication_csv, name="publication_csv"),
    path("notices/publications/<str:code>.json", views.publication_json, name="publication_json"),
    path("notices/<int:announcement_id>/", views.notice, name="notice"),
    path("notices/<int:announcement_id>.csv", views.notice_csv, name="notice_csv"),
    path("notices/<int:announcement_id>.json", views.notice_json, name="notice_json"),
    # counter
    path("counter/announcements/", views.counter, name="counter"),
    path("counter/announcements/<int:announcement_id>/", views.counter_detail, name="counter_detail"),
    path("counter/announcements/<int:announcement_id>/<str:step>/", views.counter_step, name="counter_step"),
]
