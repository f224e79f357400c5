-- AlterEnum
ALTER TYPE "AlertMetric" ADD VALUE 'SCORE';
