"""Public announcements and publications (交通安全信息公告和公布, N3)."""
