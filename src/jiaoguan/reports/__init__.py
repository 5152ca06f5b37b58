"""Reports to government bodies and companies (交通安全信息通报、抄告, N2)."""
