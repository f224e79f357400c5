-- CreateTable
CREATE TABLE "service_minutes" (
    "minute" TIMESTAMPTZ(3) NOT NULL,
    "instance" UUID NOT NULL,
    "requests" INTEGER NOT NULL DEFAULT 0,
    "errors" INTEGER NOT NULL DEFAULT 0,
    "queries" INTEGER NOT NULL DEFAULT 0,
    "slow_queries" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "service_minutes_pkey" PRIMARY KEY ("minute","instance")
);
