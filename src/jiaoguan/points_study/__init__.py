"""Study to reduce points and full-score education (学法减分、满分学习, V7)."""
