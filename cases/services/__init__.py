from cases.services.customer import *  # noqa: F403
