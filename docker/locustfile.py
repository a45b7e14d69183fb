"""Example locustfile for the locust-ecs image: copy it, change the tasks, rebuild.

The image runs it from /locustfile.py (docker build --build-arg LOCUSTFILE=your_file.py).
The target comes from TARGET_URL (the supervisor passes it to Locust as -H); requests
below use paths relative to it. The same file runs on the master and on every worker:
the master only counts, the workers send the requests.
"""
from locust import HttpUser, between, task


class WebsiteUser(HttpUser):
    # Each simulated user waits 1 to 3 seconds between two tasks. Less waiting means more
    # requests per user; one Locust process uses one CPU core, so add workers (or vCPUs:
    # LOCUST_ECS_ENGINES=auto runs one engine per vCPU of a worker task) for more load.
    wait_time = between(1, 3)

    def on_start(self):
        # Runs once per simulated user before its first task: log in, fetch a token...
        pass

    # The number is a weight: the front page is picked three times as often as the other.
    @task(3)
    def front_page(self):
        self.client.get("/")

    @task(1)
    def missing_page_is_expected(self):
        # catch_response lets the test decide what counts as a failure: here a 404 is
        # the expected answer, so it is reported as a success.
        with self.client.get("/does-not-exist", name="/does-not-exist (404 expected)",
                             catch_response=True) as response:
            if response.status_code == 404:
                response.success()
            else:
                response.failure(f"expected 404, got {response.status_code}")
