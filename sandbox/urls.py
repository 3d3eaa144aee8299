# The sandbox's routes are mounted under /_sandbox/ (see config/urls.py).
urlpatterns: list = []
