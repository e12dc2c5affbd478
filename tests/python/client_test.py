#!/usr/bin/python3
"""A second-language client: Python code generated from Throughline's proto.

Generates Python stubs from proto/ with protoc and grpc_python_plugin, starts
a real throughline-server on a free loopback port with a fresh data
directory, then records an observation through ObservationService and checks
the precise error for a bad one. Uses only Debian's python3-grpcio and
python3-protobuf (run with /usr/bin/python3).

Usage: client_test.py --server BINARY --proto-dir DIR
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

ARGS = None
TRUST = "python-trust"


def generate_stubs(proto_dir, out_dir):
    protos = []
    for root, _, files in os.walk(proto_dir):
        protos += [os.path.join(root, f) for f in files if f.endswith(".proto")]
    subprocess.run(
        ["protoc", f"-I{proto_dir}", "-I/usr/include",
         f"--python_out={out_dir}", f"--grpc_python_out={out_dir}",
         "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin"]
        + protos,
        check=True)


class ServerProcess:
    """throughline-server on 127.0.0.1 with a port it picks itself."""

    def __init__(self, binary, data_dir):
        self.log = open(os.path.join(data_dir, "server.log"), "w+")
        self.process = subprocess.Popen(
            [binary, "--listen=127.0.0.1:0",
             f"--data_dir={os.path.join(data_dir, 'data')}"],
            stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            self.log.seek(0)
            match = re.search(r"\(port (\d+)\)", self.log.read())
            if match:
                self.address = f"127.0.0.1:{match.group(1)}"
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


class ObservationClientTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="throughline-python-")
        stubs = os.path.join(cls.workdir, "stubs")
        os.makedirs(stubs)
        generate_stubs(ARGS.proto_dir, stubs)
        sys.path.insert(0, stubs)
        cls.server = ServerProcess(ARGS.server, cls.workdir)
        import grpc
        cls.grpc = grpc
        cls.channel = grpc.insecure_channel(cls.server.address)
        # The first start wrote an operator token; with it, an admin token of
        # the trust this test writes to.
        from throughline.auth.v1 import auth_pb2, auth_pb2_grpc
        with open(os.path.join(cls.workdir, "data", "operator-token")) as f:
            operator = f.read().strip()
        created = auth_pb2_grpc.AuthServiceStub(cls.channel).CreateToken(
            auth_pb2.CreateTokenRequest(
                request_id=str(uuid.uuid4()),
                principal=auth_pb2.Principal(
                    name="python client", role=auth_pb2.ROLE_ADMIN,
                    trust=TRUST)),
            metadata=(("authorization", f"Bearer {operator}"),), timeout=30)
        cls.credential = (("authorization", f"Bearer {created.secret}"),)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def record(self, stub_method, request):
        return stub_method(request, metadata=self.credential, timeout=30)

    def test_refuses_a_call_without_a_credential(self):
        from throughline.cpd.v1 import organisation_pb2, organisation_pb2_grpc
        organisation = organisation_pb2_grpc.OrganisationServiceStub(
            self.channel)
        for metadata in ((), (("throughline-tenant", TRUST),),
                         (("authorization", "Bearer tl1_nonsense"),)):
            with self.assertRaises(self.grpc.RpcError) as caught:
                organisation.ListDevelopmentAreas(
                    organisation_pb2.ListDevelopmentAreasRequest(),
                    metadata=metadata, timeout=30)
            self.assertEqual(caught.exception.code(),
                             self.grpc.StatusCode.UNAUTHENTICATED)
            self.assertEqual(caught.exception.details(),
                             "a valid credential is required")

    def test_records_an_observation_and_explains_a_bad_one(self):
        from throughline.cpd.v1 import events_pb2, common_pb2
        from throughline.cpd.v1 import organisation_pb2, organisation_pb2_grpc
        from throughline.cpd.v1 import staff_pb2, staff_pb2_grpc
        from throughline.cpd.v1 import observation_pb2, observation_pb2_grpc
        from throughline.eventstore.v1 import errors_pb2
        from google.rpc import status_pb2

        organisation = organisation_pb2_grpc.OrganisationServiceStub(
            self.channel)
        staff = staff_pb2_grpc.StaffDirectoryServiceStub(self.channel)
        observations = observation_pb2_grpc.ObservationServiceStub(
            self.channel)
        new_id = lambda: str(uuid.uuid4())

        self.record(organisation.RegisterTrust,
                    organisation_pb2.RegisterTrustRequest(
                        request_id=new_id(),
                        trust=events_pb2.TrustRegistered(name="Python Trust")))
        self.record(organisation.AddSchool, organisation_pb2.AddSchoolRequest(
            request_id=new_id(),
            school=events_pb2.SchoolAdded(school_id="s1", name="School 1")))
        for staff_id in ("observer", "teacher"):
            self.record(staff.RecordStaffJoined,
                        staff_pb2.RecordStaffJoinedRequest(
                            request_id=new_id(),
                            joined=events_pb2.StaffMemberJoined(
                                staff_id=staff_id, school_id="s1",
                                role=common_pb2.STAFF_ROLE_TEACHER,
                                personal=common_pb2.PersonalDetails(
                                    display_name=staff_id.title()))))

        observation = events_pb2.ObservationRecorded(
            observation_id="obs-1", observed_staff_id="teacher",
            observer_staff_id="observer",
            kind=common_pb2.OBSERVATION_KIND_DROP_IN,
            strengths=["behaviour"], development_points=["questioning"],
            ratings=[common_pb2.AreaRating(area="questioning", rating=2)])
        request_id = new_id()
        first = self.record(observations.RecordObservation,
                            observation_pb2.RecordObservationRequest(
                                request_id=request_id,
                                observation=observation))
        self.assertEqual(len(first.event_ids), 1)
        self.assertFalse(first.already_applied)
        again = self.record(observations.RecordObservation,
                            observation_pb2.RecordObservationRequest(
                                request_id=request_id,
                                observation=observation))
        self.assertTrue(again.already_applied)
        self.assertEqual(again.first_position, first.first_position)

        bad = events_pb2.ObservationRecorded()
        bad.CopyFrom(observation)
        bad.observation_id = "obs-2"
        bad.development_points[:] = ["questionning"]
        with self.assertRaises(self.grpc.RpcError) as caught:
            self.record(observations.RecordObservation,
                        observation_pb2.RecordObservationRequest(
                            request_id=new_id(), observation=bad))
        error = caught.exception
        self.assertEqual(error.code(), self.grpc.StatusCode.INVALID_ARGUMENT)
        self.assertTrue(error.details().startswith(
            "observation.development_points[0]:"), error.details())
        self.assertIn("questionning", error.details())
        # The typed detail names the field too.
        trailers = dict(error.trailing_metadata())
        rich = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
        violation = errors_pb2.FieldViolation()
        self.assertTrue(rich.details[0].Unpack(violation))
        self.assertEqual(violation.field, "observation.development_points[0]")


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--proto-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
