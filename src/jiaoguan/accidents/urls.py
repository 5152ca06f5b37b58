from django.urls import path

from . import views

app_name = "accidents"
urlpatterns = [
    # officers of the accident unit
    path("accidents/cases/", views.case_list, name="cases"),
    path("accidents/cases/new/", views.case_new, name="case_new"),
    path("accidents/cases/<int:case_id>/", views.case_detail, name="case"),
    path("accidents/cases/<int:case_id>/parties/", views.party_add, name="party_add"),
    path("accidents/cases/<int:case_id>/stages/", views.stage_add, name="stage_add"),
    path("accidents/cases/<int:case_id>/close/", views.case_close, name="case_close"),
    path(
        "accidents/cases/<int:case_id>/documents/issue/<slug:kind>/",
        views.document_issue,
        name="document_issue",
    ),
    path("accidents/cases/<int:case_id>/documents/upload/", views.document_upload, name="document_upload"),
    path(
        "accidents/cases/<int:case_id>/documents/<int:document_id>/release/",
        views.document_release,
        name="document_release",
    ),
    path(
        "accidents/cases/<int:case_id>/credentials/<int:credential_id>.pdf",
        views.credential_pdf,
        name="credential_pdf",
    ),
    path(
        "accidents/cases/<int:case_id>/credentials/<int:credential_id>/revoke/",
        views.credential_revoke,
        name="credential_revoke",
    ),
    path(
        "accidents/cases/<int:case_id>/applications/<int:application_id>/review/",
        views.application_review,
        name="application_review",
    ),
    path(
        "accidents/cases/<int:case_id>/applications/<int:application_id>/document/",
        views.application_document,
        name="application_document",
    ),
    path("accidents/cases/<int:case_id>/evidence/", views.evidence_add, name="evidence_add"),
    path("accidents/cases/<int:case_id>/evidence/<int:item_id>/", views.evidence_view, name="evidence_view"),
    path("accidents/cases/<int:case_id>/reviews/", views.review_open, name="review_open"),
    path(
        "accidents/cases/<int:case_id>/reviews/<int:review_id>/items/",
        views.review_items,
        name="review_items",
    ),
    path("accidents/reviews/<int:review_id>.pdf", views.review_pdf, name="review_pdf"),
    path("accidents/documents/<int:document_id>/", views.document_view, name="document"),
    # head of the accident unit
    path("accidents/approvals/", views.approvals, name="approvals"),
    path("accidents/approvals/<int:review_id>/", views.approval_decide, name="approval_decide"),
    # public: progress query with accident number and query code
    path("accidents/query/", views.query, name="query"),
    path("accidents/query/progress/", views.progress, name="progress"),
    path("accidents/query/end/", views.query_end, name="query_end"),
    path("accidents/query/documents/<int:document_id>/", views.query_document, name="query_document"),
    # vehicle owners and insurers: written applications
    path("accidents/apply/", views.apply, name="apply"),
    path("accidents/my/", views.my, name="my"),
    path(
        "accidents/my/credentials/<int:credential_id>.pdf", views.my_credential_pdf, name="my_credential_pdf"
    ),
    # a logged-in citizen who is a party: their own cases without the code
    path("accidents/mine/", views.mine, name="mine"),
    path("accidents/mine/<str:number>/", views.mine_case, name="mine_case"),
    path(
        "accidents/mine/<str:number>/documents/<int:document_id>/",
        views.mine_document,
        name="mine_document",
    ),
    path("accidents/mine/<str:number>/credential.pdf", views.mine_credential_pdf, name="mine_credential_pdf"),
    # public: evidence review with accident number and review code
    path("accidents/evidence/", views.evidence, name="evidence"),
    path("accidents/evidence/items/", views.evidence_items, name="evidence_items"),
    path("accidents/evidence/items/<int:item_id>/", views.evidence_item, name="evidence_item"),
]
